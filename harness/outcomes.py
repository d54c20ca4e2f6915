"""The outcome classes of a record, once: what each means and how each is shown.

The scenario schema, the console, the report (grid, charts, legend, JUnit, regressions, its
script) and explore all read this table, so a new outcome or a new colour is one line here.
Nothing heavy is imported: nox's environment and the report read it without torch.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutcomeClass:
    name: str
    # A matrix cell's outcome: its stack never ran a scenario (it could not be built or imported).
    cell: bool
    # The scenario's code raised or never finished (failed, crashed, timed out).
    broke: bool
    # Ran and went wrong in a way worth keeping: broke, or finished with a failed correctness check.
    failure: bool
    style: str  # rich style in the console
    colour: str  # the report's grid, charts and legend
    label: str  # a few characters in a grid cell when nothing more telling is known
    rank: int  # position in the report's legend and sort order
    light: bool = False  # colour light enough for dark text

    @property
    def failing(self) -> bool:
        """Not a pass and not a skip: what a regression or a fix is measured against."""
        return self.failure or self.cell


# Declaration order is the schema's order (the choices a scenario's `outcome:` lists).
# fmt: off
TABLE: tuple[OutcomeClass, ...] = tuple(OutcomeClass(*row) for row in (
    # name           cell   broke  failure style       colour     label            rank light
    ("passed",        False, False, False, "green",    "#2e9d57", "ok",            0),
    ("failed",        False, True,  True,  "red",      "#d64541", "failed",        2),
    ("crashed",       False, True,  True,  "bold red", "#8e2a8f", "crashed",       3),
    ("timed_out",     False, True,  True,  "magenta",  "#e8772e", "timeout",       4),
    ("skipped",       False, False, False, "dim",      "#9aa4ad", "skipped",       5, True),
    ("silent",        False, False, True,  "yellow",   "#e0a800", "silent",        1, True),
    ("unresolvable",  True,  False, False, "red",      "#5b6e8c", "unresolvable",  6),
    ("install_error", True,  False, False, "red",      "#41546f", "install error", 7),
    ("import_error",  True,  False, False, "red",      "#7c5a3c", "import_error",  8),
))
# fmt: on
BY_NAME: dict[str, OutcomeClass] = {outcome.name: outcome for outcome in TABLE}

# Outcomes of a scenario that ran, and of a matrix cell that never ran one, in the schema's order.
SCENARIO_OUTCOMES: tuple[str, ...] = tuple(o.name for o in TABLE if not o.cell)
CELL_OUTCOMES: tuple[str, ...] = tuple(o.name for o in TABLE if o.cell)
# The report's order: the legend, the charts' stacking, the grid's sort.
REPORT_ORDER: tuple[str, ...] = tuple(o.name for o in sorted(TABLE, key=lambda o: o.rank))

UNBUILT = frozenset(CELL_OUTCOMES)
BROKE = frozenset(o.name for o in TABLE if o.broke)
FAILURES = frozenset(o.name for o in TABLE if o.failure)
FAILING = frozenset(o.name for o in TABLE if o.failing)
LIGHT = tuple(name for name in REPORT_ORDER if BY_NAME[name].light)
STYLES: dict[str, str] = {o.name: o.style for o in TABLE}
COLOURS: dict[str, str] = {name: BY_NAME[name].colour for name in REPORT_ORDER}
UNKNOWN_STYLE = "white"  # an outcome read back from an older or foreign record


def style(outcome: str) -> str:
    return STYLES.get(outcome, UNKNOWN_STYLE)


def rank(outcome: str) -> int:
    """Report order; an unknown outcome sorts last."""
    found = BY_NAME.get(outcome)
    return found.rank if found is not None else len(TABLE)


def label(outcome: str) -> str:
    found = BY_NAME.get(outcome)
    return found.label if found is not None else outcome
