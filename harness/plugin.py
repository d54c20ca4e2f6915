"""What every dimension entry is: one plugin that acts at named points of the pipeline.

A model family, a PEFT method, a quantization backend and a checkpointing path are each one
module holding one plugin object. The pipeline (harness/execution/pipeline.py) and the repro
exporter (harness/report/repro/script.py) walk the same list of points and ask every plugin of
the variant what it does there: ``on_<point>(stage)`` does it, ``emit_<point>(scene)`` writes the
same step as plain code for a standalone script. A plugin defines only the points it acts at, so
neither walker knows any entry by name.

A plugin also owns its part of the scenario (a backend's ``Options``, validated under
``quantization:``), the distributions it needs (``requires``) and how ``harness explore`` varies
it (``explore``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.dsl.schema import Scenario

# In pipeline order; each point's phase is the one a failure there is recorded in, unless the
# plugin acting says otherwise (a checkpointing path's actions are all "enable-checkpointing").
POINTS: dict[str, str] = {
    "build": "build",
    "quantize": "quantize",
    # (here the pipeline's own step calls peft's prepare_model_for_kbit_training, with the
    # checkpointing path's keywords)
    "before_attach": "attach",
    "attach": "attach",
    "after_attach": "attach",
}


@dataclass
class Stage:
    """The variant's state as it moves through the points; a plugin's action reads and replaces it."""

    scenario: Scenario
    device: str
    workdir: str
    effective: dict[str, Any]
    model: Any = None
    batch: dict[str, Any] | None = None
    peft_config: Any = None


@dataclass
class Scene:
    """What an emitter may read: the resolved scenario and the record it came from."""

    scenario: Scenario
    record: dict[str, Any]
    # modules the emitted code uses beyond torch / transformers / peft (`import` lines)
    imports: set[str] = field(default_factory=set)
    # plain functions of ours the emitted code calls: inlined, source and all, at the script's top
    functions: list[Callable[..., Any]] = field(default_factory=list)

    @property
    def device(self) -> str:
        return str(self.record.get("device") or "cpu")

    def version(self, package: str) -> str | None:
        """The recorded version of ``package`` in the record's environment."""
        value = (self.record.get("env") or {}).get(package)
        return value if isinstance(value, str) else None

    def recorded(self, key: str) -> Any:
        """What the run recorded under ``effective.<key>`` (None where it did not get that far)."""
        return (self.record.get("effective") or {}).get(key)


class Plugin:
    """Base of every dimension entry; subclasses define ``on_<point>``/``emit_<point>`` they need."""

    name: str = ""
    # distributions the entry needs beyond the core stack (shown in the environment, matrix axes)
    requires: tuple[str, ...] = ()

    def action(self, point: str) -> Callable[[Stage], None] | None:
        return getattr(self, f"on_{point}", None)

    def phase(self, point: str) -> str:
        """The phase a failure of this plugin's action at ``point`` is recorded in."""
        return POINTS[point]

    def emitter(self, point: str) -> Callable[[Scene], str | None] | None:
        return getattr(self, f"emit_{point}", None)

    def explore(self, draw: Any, fields: dict[str, Any]) -> None:
        """Draw this entry's own options into ``fields`` (see harness/explore/strategies.py)."""


def walk(plugins: list[Any], point: str) -> list[tuple[str, Callable[[Stage], None]]]:
    """(phase, action) of ``plugins`` at ``point``, in the variant's plugin order."""
    return [(plugin.phase(point), action) for plugin in plugins if (action := plugin.action(point)) is not None]


def emit(plugins: list[Any], point: str, scene: Scene) -> list[tuple[str, str]]:
    """(phase, code) blocks ``plugins`` write at ``point`` (the repro script's part of that step)."""
    blocks = []
    for plugin in plugins:
        emitter = plugin.emitter(point)
        code = emitter(scene) if emitter is not None else None
        if code:
            blocks.append((plugin.phase(point), code))
    return blocks
