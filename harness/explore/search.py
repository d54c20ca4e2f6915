"""The search loop: hypothesis draws combinations, the warm pool runs them, new signatures are shrunk.

How hypothesis is used, and why:

* Each new kind of failure (its signature with class names and dtypes blanked, see
  :mod:`.known`) raises its own exception class, created once per kind. Hypothesis tells bugs
  apart by exception type and location, so with ``report_multiple_bugs`` it shrinks every new
  kind separately and only ever accepts a smaller example that fails the *same* way: the shrunk
  scenario reproduces the failure it was found with.
* Hypothesis stops generating ten seconds after its first failure (it wants to report bugs
  soon). An exploration wants its whole budget, so it runs in *rounds*: when a round ends with
  new signatures, they join the known set and the next round (next seed) looks for others.
* Each round has its own example-database folder, so a rerun replays round 1's minimal failures
  first (hypothesis then skips generation and reports them at once), then round 2's, and so on.
* Variants are deterministic (seeded weights and inputs), so every distinct combination runs
  once: repeats, which shrinking produces many of, are answered from a cache.
* ``budget`` counts the examples hypothesis generates while searching (read from its per-phase
  statistics after each round); each new signature adds ``shrink_budget`` runs for shrinking.
  Once those are spent too, unseen combinations are rejected, which stops shrinking at the best
  example so far; a last pass then resets each remaining
  field to its default, one at a time, keeping every reset that fails the same way, so even a
  cut-short example ends with no field its failure does not need.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, given, reject, seed, settings, statistics
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Unsatisfiable

from harness.dsl.catalog import Variant
from harness.execution.pool import Limits, WorkerPool
from harness.explore.found import Finding
from harness.explore.known import Known, is_failure, is_harness_error, kind
from harness.explore.strategies import Fields, non_default, scenario_fields, to_scenario, without
from harness.record import Record
from harness.results import ResultWriter
from harness.runner import RunOptions, build_record

MAX_ROUNDS = 50
EXPLORE_SOURCE = "harness-explore"


class NewFailure(Exception):
    """An explored combination failed with a signature the known set lacks."""

    def __init__(self, fields: Fields, record: Record):
        assert record.signature is not None
        super().__init__(f"new signature {record.signature.id}: {record.signature.text}")
        self.fields = fields
        self.record = record


@dataclass
class Stats:
    examples: int = 0  # combinations hypothesis drew and the schema accepted (all phases)
    generated: int = 0  # of which hypothesis generated while searching (the budget's unit)
    shrinking: int = 0  # of which hypothesis tried while shrinking
    runs: int = 0  # distinct combinations actually run
    invalid: int = 0  # drawn combinations the schema rejected
    over_budget: int = 0  # unseen combinations rejected because the budget was spent
    rounds: int = 0
    wall_s: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass
class Event:
    """What the explorer reports as it goes (the CLI prints it)."""

    kind: str  # "run" (a combination ran), "new" (first sight of a new signature), "round"
    record: Record | None = None
    example: int = 0
    round: int = 0
    findings: int = 0


class Explorer:
    def __init__(
        self,
        pool: WorkerPool,
        known: Known,
        *,
        budget: int,
        shrink_budget: int,
        seed: int = 0,
        dimensions: tuple[str, ...],
        database: Path | None,
        limits: Limits,
        results: Path | None,
        run_id: str,
        on_event: Callable[[Event], None] = lambda event: None,
    ):
        self.pool = pool
        self.known = known.copy()
        self.budget = budget
        self.shrink_budget = shrink_budget
        self.seed = seed
        self.dimensions = dimensions
        self.database = database
        self.limits = limits
        self.writer = ResultWriter(results) if results else None
        self.options = RunOptions(out=results or Path(os.devnull), device=pool.device)
        self.run_id = run_id
        self.on_event = on_event
        self.stats = Stats()
        self.findings: list[Finding] = []
        self._cache: dict[str, Record] = {}
        self._first_seen: dict[str, tuple[int, int]] = {}  # new kind -> (example, round)
        self._latest: dict[str, tuple[Fields, Record]] = {}  # new kind -> an example showing it
        # Failures of the harness's own code: reported, never shrunk or written as stack facts.
        self.harness_errors: dict[str, tuple[Fields, Record]] = {}

    # --- running combinations -------------------------------------------------------------------

    def run_variant(self, variant: Variant) -> Record:
        """One variant through the warm pool, as a record (also used to verify written files)."""
        (done, observation), *_ = list(self.pool.run([variant], self.limits))
        record = build_record(done, observation, self.pool.env, self.options, self.run_id)
        if self.writer is not None:
            self.writer.write(record)
        return record

    def result(self, fields: Fields, round_number: int = 0, *, budgeted: bool = False) -> Record | None:
        """The record of a combination (run once, then cached); None if the schema rejects it or,
        when ``budgeted``, if it has not run yet and the budget is spent."""
        scenario = to_scenario(fields)
        if scenario is None:
            self.stats.invalid += 1
            return None
        cached = self._cache.get(scenario.id)
        if budgeted and cached is None and self.stats.runs >= self.allowance:
            self.stats.over_budget += 1
            return None
        if budgeted:
            self.stats.examples += 1
        if cached is not None:
            return cached
        record = self.run_variant(Variant(scenario, EXPLORE_SOURCE, 0, {}))
        self._cache[scenario.id] = record
        self.stats.runs += 1
        self.stats.outcomes[record.outcome] = self.stats.outcomes.get(record.outcome, 0) + 1
        self.on_event(Event("run", record, self.stats.examples, round_number))
        if is_failure(record) and is_harness_error(record):
            self.harness_errors.setdefault(kind(record), (fields, record))
        elif is_failure(record) and not self.known.covers(record):
            new = kind(record)
            if new not in self._first_seen:
                self._first_seen[new] = (self.stats.examples, round_number)
                self.on_event(Event("new", record, self.stats.examples, round_number))
            self._latest[new] = (fields, record)
        return record

    @property
    def allowance(self) -> int:
        """Runs allowed so far: the search budget plus a shrinking reserve per new kind."""
        return self.budget + self.shrink_budget * len(self._first_seen)

    # --- the search -----------------------------------------------------------------------------

    def run(self) -> list[Finding]:
        started = time.monotonic()
        try:
            for number in range(1, MAX_ROUNDS + 1):
                if self.stats.generated >= self.budget:
                    break
                found = self._round(number)
                self.stats.rounds = number
                self.findings.extend(found)
                self.on_event(Event("round", None, self.stats.examples, number, len(found)))
                if not found:  # a whole round without a new signature: the budget or space is spent
                    break
            self.findings = self._minimized(self.findings)
        finally:
            self.stats.wall_s = round(time.monotonic() - started, 3)
        return self.findings

    def _round(self, number: int) -> list[Finding]:
        known = self.known.copy()
        for finding in self.findings:
            known.add(finding.record)
        classes: dict[str, type[NewFailure]] = {}
        over_budget_before = self.stats.over_budget

        def failure(record: Record) -> type[NewFailure]:
            # One class per kind: hypothesis's notion of "a distinct bug".
            name = f"NewFailure_{len(classes)}"
            return classes.setdefault(kind(record), type(name, (NewFailure,), {}))

        database = DirectoryBasedExampleDatabase(self.database / f"round-{number}") if self.database else None

        @settings(
            # Generation stops after this many examples (repeats included), so the rounds
            # together never search beyond the budget; shrinking draws on the reserves.
            max_examples=max(1, self.budget - self.stats.generated),
            deadline=None,
            database=database,
            phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
            report_multiple_bugs=True,
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            print_blob=False,
        )
        @seed(self.seed * 1000 + number)
        @given(scenario_fields(self.dimensions))
        def explore(fields: Fields) -> None:
            record = self.result(fields, number, budgeted=True)
            if record is None:
                reject()  # invalid in the DSL, or unseen after the budget: never a failure
            assert record is not None
            if _new(record, known):
                raise failure(record)(fields, record)

        try:
            with statistics.collector.with_value(self._count_phases):
                explore()
            raised: list[BaseException] = []
        except Unsatisfiable:  # every draw rejected: nothing left to run within the budget
            raised = []
        except Exception as error:  # sorted below: ours are NewFailure
            raised = list(_leaves(error))
            stray = [e for e in raised if not isinstance(e, NewFailure)]
            if stray:  # a bug in the harness (or the pool gave up): stop loudly, not as a "finding"
                raise stray[0] from error
        cut_short = self.stats.over_budget > over_budget_before
        return self._findings(raised, number, cut_short)

    def _count_phases(self, phases: dict[str, Any]) -> None:
        """Hypothesis's per-phase statistics of a round: how many examples searched and shrank."""

        def tried(phase: str) -> int:
            cases = phases.get(f"{phase}-phase", {}).get("test-cases", [])
            return sum(1 for case in cases if case.get("status") in ("valid", "interesting"))

        self.stats.generated += tried("generate")
        self.stats.shrinking += tried("shrink")

    def _findings(self, raised: list[BaseException], number: int, cut_short: bool) -> list[Finding]:
        findings: dict[str, Finding] = {}
        for error in raised:
            if isinstance(error, NewFailure):
                new = kind(error.record)
                example, _ = self._first_seen.get(new, (self.stats.examples, number))
                findings.setdefault(new, Finding(error.fields, error.record, example, number, cut_short))
        # A kind first seen this round that hypothesis did not report (it showed up while the
        # budget was spent): start from the example seen; minimize() still shrinks it.
        for new, (example, seen_round) in self._first_seen.items():
            if seen_round == number and new not in findings:
                fields, record = self._latest[new]
                findings[new] = Finding(fields, record, example, number, cut_short=True)
        return list(findings.values())

    def _minimized(self, findings: list[Finding]) -> list[Finding]:
        """Every finding minimized, plus any new kind that minimizing itself ran into."""
        pending, done = list(findings), []
        while pending:
            done.append(self.minimize(pending.pop(0)))
            if not pending:
                reported = {kind(finding.record) for finding in done} | {kind(f.record) for f in findings}
                for new, (example, number) in self._first_seen.items():
                    if new not in reported:
                        fields, record = self._latest[new]
                        pending.append(Finding(fields, record, example, number or self.stats.rounds, cut_short=True))
        return done

    def minimize(self, finding: Finding) -> Finding:
        """Reset fields to their defaults one at a time while the same kind of failure persists.

        After a complete hypothesis shrink this rarely changes anything (each field is a choice
        hypothesis already tried at its default); after a cut-short one it removes what the
        failure does not need, so every written scenario has only fields whose reset changes it.
        """
        fields, record = finding.fields, finding.record
        reset = True
        while reset:
            reset = False
            for dotted in non_default(fields):
                smaller = without(fields, dotted)
                candidate = self.result(smaller)
                if candidate is not None and _same_failure(candidate, record):
                    fields, record, reset = smaller, candidate, True
                    finding.reset.append(dotted)
                    break
        finding.fields, finding.record = fields, record
        return finding


def _new(record: Record, known: Known) -> bool:
    return is_failure(record) and not known.covers(record) and not is_harness_error(record)


def _same_failure(candidate: Record, record: Record) -> bool:
    return is_failure(candidate) and not is_harness_error(candidate) and kind(candidate) == kind(record)


def _leaves(error: BaseException) -> Iterator[BaseException]:
    """The exceptions inside (nested) exception groups, e.g. hypothesis's multiple bugs."""
    inner = getattr(error, "exceptions", None)
    if inner is None:
        yield error
        return
    for child in inner:
        yield from _leaves(child)
