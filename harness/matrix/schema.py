"""matrix.yaml: which stacks the catalog runs on.

Axes are packages (and ``python``); an axis value is an exact version or a selector resolved
against the package index. ``include``/``exclude`` follow GitHub Actions' rules, with one
extension: a rule value may be a PEP 440 specifier (``peft: ">=0.13"``) as well as a version.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Device = Literal["cpu", "cuda"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Selector(Strict):
    """Several versions of one package, picked from the index."""

    latest_minors: int | None = Field(
        None, ge=1, le=50, description="the newest patch of each of the last N minor releases"
    )
    range: str | None = Field(None, description="PEP 440 specifier the picked versions must satisfy")
    pick: Literal["latest", "latest-per-minor", "all"] = Field(
        "latest-per-minor", description="with `range`: which matching releases to take"
    )
    prereleases: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> Selector:
        if self.latest_minors is None and self.range is None:
            raise ValueError("a selector needs `latest_minors` or `range`")
        return self


# An axis value: "4.57.6" (exact), "latest", "==4.44.*" / ">=0.47,<0.49" (newest match), or a Selector.
AxisValue = str | Selector


class CellDefaults(Strict):
    """What every cell runs, unless an include rule says otherwise."""

    device: Device = "cpu"
    scenarios: list[str] = Field(default_factory=lambda: ["scenarios"])
    keyword: str | None = Field(None, description="`harness run -k` expression")
    jobs: int = Field(2, ge=1, le=64, description="`harness run -j`")
    runs_on: str = Field("ubuntu-latest", description="CI runner label for this cell's job")


class Selection(Strict):
    """A named group of cells (a nox tag), e.g. a quick smoke run."""

    description: str = ""
    cells: list[dict[str, str]] = Field(
        default_factory=list, description="rules matching cells, as in include/exclude; empty: every cell"
    )
    include_optional: bool = False


class Matrix(Strict):
    description: str = ""
    axes: dict[str, list[AxisValue]] = Field(
        description="python or a package -> versions or selectors (python defaults to the running one)"
    )
    strategy: Literal["full", "pairwise"] = Field(
        "full", description="full product, or every pair of values of any two axes at least once"
    )
    exclude: list[dict[str, str]] = Field(default_factory=list)
    include: list[dict[str, Any]] = Field(default_factory=list)
    defaults: CellDefaults = Field(default_factory=CellDefaults)
    selections: dict[str, Selection] = Field(default_factory=dict)

    @field_validator("axes")
    @classmethod
    def _axes(cls, axes: dict[str, list[AxisValue]]) -> dict[str, list[AxisValue]]:
        if not axes:
            raise ValueError("a matrix needs at least one axis")
        for name, values in axes.items():
            if not values:
                raise ValueError(f"axis '{name}' has no values")
            if name == "python" and not all(isinstance(v, str) for v in values):
                raise ValueError("python versions are plain strings such as '3.11'")
        return axes
