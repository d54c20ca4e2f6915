"""pytest plugin (entry point ``pytest11``): scenario variants as test items.

``pytest scenarios/`` collects each variant of each scenario file as one test item (its id the
variant id, its markers the scenario's tags and dimensions) and runs it exactly as ``harness run``
does: through a warm supervisor (:class:`~harness.execution.pool.WorkerPool`) that forks an
isolated child per variant, into a result record built by :func:`harness.runner.build_record`. An
item passes when the record is as the scenario expects (an expected failure passes), and fails
with the record's summary and mismatches otherwise.

One supervisor per pytest process (with pytest-xdist: per worker), started at the first scenario
item and stopped at the end of the session. Every process appends its records to the same
``--ft-out`` file under the writer's file lock, with the one run id the controller chose.

Nothing here imports torch, and the harness itself only when a scenario is collected: the
plugin is loaded into every pytest run of an environment the harness is installed in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.dsl.catalog import Variant
    from harness.dsl.schema import Limit
    from harness.errors import InputError
    from harness.execution.pool import StackImportError, WorkerPool
    from harness.record import Record
    from harness.results import ResultWriter
    from harness.runner import RunOptions

YAML_SUFFIXES = (".yaml", ".yml")
SCENARIOS_DIR = "scenarios"
# Markers with a meaning of their own in pytest or its plugins: a tag by that name is not applied.
RESERVED_MARKERS = frozenset(
    {"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings", "timeout", "tryfirst", "trylast"}
)
# Passed from the xdist controller to its workers: one run, one results file.
RUN_ID_KEY = "ft_harness_run_id"
OUT_KEY = "ft_harness_out"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ft-harness", "ft-harness scenarios (YAML files under scenarios/ or named explicitly)")
    group.addoption(
        "--ft-out",
        metavar="FILE",
        help="results file (JSON lines) every process appends to; default reports/runs/<run id>.jsonl",
    )
    group.addoption("--ft-device", choices=("cpu", "cuda", "auto"), default="cpu", help="default: cpu")
    group.addoption("--ft-timeout", type=float, metavar="S", help="seconds per variant (overrides scenarios)")
    group.addoption("--ft-memory-mb", type=int, metavar="MB", help="memory cap per variant (overrides scenarios)")
    group.addoption("--ft-isolation", choices=("fork", "spawn"), help="default: fork on CPU, spawn for CUDA")
    group.addoption("--ft-cell", metavar="NAME", help="matrix cell name stored in each record")


@dataclass
class ScenarioSession:
    """Per pytest process: the run's identity, the lazily started pool, the results writer."""

    config: pytest.Config
    run_id: str
    out: Path
    explicit: list[Path]
    limits_by_folder: dict[Path, tuple[list[Limit], list[InputError]]] = field(default_factory=dict)
    seen_ids: dict[str, str] = field(default_factory=dict)
    markers: set[str] = field(default_factory=set)
    selected: list[Variant] = field(default_factory=list)
    pool: WorkerPool | None = None
    import_error: StackImportError | None = None
    writer: ResultWriter | None = None

    # -- collection --------------------------------------------------------------------------------

    def collects(self, path: Path) -> bool:
        """A scenario file: named explicitly, under a directory named explicitly outside the
        project's testpaths, or under a directory called `scenarios` (never `_limits.yaml`)."""
        if path.suffix not in YAML_SUFFIXES or path.name.startswith("_"):
            return False
        root = self.config.rootpath
        inside = path.relative_to(root).parent.parts if path.is_relative_to(root) else ()
        if path in self.explicit or SCENARIOS_DIR in inside:
            return True
        return any(arg.is_dir() and path.is_relative_to(arg) for arg in self.explicit)

    def load(self, path: Path) -> list[Variant]:
        from harness.dsl.catalog import LimitsLoader, load_file

        folder = path.parent
        if folder not in self.limits_by_folder:
            errors: list[InputError] = []
            self.limits_by_folder[folder] = (LimitsLoader(errors).for_file(path), errors)
        limits, errors = self.limits_by_folder[folder]
        if errors:  # a broken _limits.yaml: the scenarios it covers cannot be judged
            raise errors[0]
        return load_file(Path(_shown(path, self.config)), limits)

    def marker(self, name: str) -> str | None:
        """``name`` registered as a marker (--strict-markers), unless pytest gives it a meaning."""
        if not name or name == "none" or name in RESERVED_MARKERS:
            return None
        if name not in self.markers:
            self.markers.add(name)
            self.config.addinivalue_line("markers", f"{name}: ft-harness scenario tag or dimension")
        return name

    # -- running -----------------------------------------------------------------------------------

    def options(self) -> RunOptions:
        from harness.execution.pool import Limits
        from harness.runner import RunOptions

        get = self.config.getoption
        return RunOptions(
            out=self.out,
            device=get("ft_device"),
            jobs=1,
            isolation=get("ft_isolation"),
            limits=Limits(get("ft_timeout"), get("ft_memory_mb")),
            cell=get("ft_cell"),
            run_id=self.run_id,
        )

    def record(self, variant: Variant) -> Record:
        from harness.execution.pool import import_failed
        from harness.execution.stack import fingerprint
        from harness.results import ResultWriter
        from harness.runner import build_record

        options = self.options()
        if variant.scenario.device not in ("any", options.device) and options.device != "auto":
            observation = {"outcome": "skipped", "reason": f"needs device {variant.scenario.device}"}
            env = fingerprint(options.device, with_torch=False)
        else:
            pool = self._start(options)
            if pool is None:
                observation = import_failed(self.import_error)  # type: ignore[arg-type]
                env = fingerprint(options.device, with_torch=False)
            else:
                observation = [observed for _, observed in pool.run([variant], options.limits)][-1]
                env = pool.env
        record = build_record(variant, observation, env, options, self.run_id)
        self.writer = self.writer or ResultWriter(self.out)
        self.writer.write(record)  # appended under a lock: xdist workers share the file
        return record

    def _start(self, options: RunOptions) -> WorkerPool | None:
        """The warm supervisor, started at the first variant; None when the stack does not import."""
        from harness.execution.pool import StackImportError

        if self.pool is None and self.import_error is None:
            pool = _session_pool(options, self.selected)
            try:
                pool.start()
            except StackImportError as error:
                self.import_error = error
            else:
                self.pool = pool
        return self.pool

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None


def _session_pool(options: RunOptions, selected: list[Variant]) -> WorkerPool:
    """A pool that preloads once, for every selected variant, instead of at each call.

    ``WorkerPool.run`` preloads the families of the variants it is given, and the supervisor then
    drops the child it forked ahead (it lacks what was just loaded). Called once per test item,
    that would put a fork on every variant's critical path. (A public ``preload`` on the pool
    would make this subclass unnecessary.)
    """
    from harness.execution.pool import WorkerPool

    class SessionPool(WorkerPool):
        preloaded = False

        def _preload(self, variants: list[Variant]) -> None:
            if not self.preloaded:
                super()._preload(selected or variants)
                self.preloaded = True

    return SessionPool(options.device, 1, options.isolation)


SESSION = pytest.StashKey[ScenarioSession]()


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and RUN_ID_KEY in workerinput:
        run_id, out = workerinput[RUN_ID_KEY], Path(workerinput[OUT_KEY])
    else:
        from harness.runner import new_run_id

        run_id = new_run_id()
        given = config.getoption("ft_out")
        out = Path(given) if given else Path("reports") / "runs" / f"{run_id}.jsonl"
        out = out if out.is_absolute() else config.invocation_params.dir / out
    config.stash[SESSION] = ScenarioSession(config, run_id, out, _explicit_paths(config))
    config.pluginmanager.register(Tally(config), "ft-harness-tally")


def _explicit_paths(config: pytest.Config) -> list[Path]:
    """Paths named on the command line, except those inside the configured testpaths (the
    project's own tests keep YAML fixtures that are not catalog entries, some broken on purpose)."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return []
    base = config.invocation_params.dir
    testpaths = [(config.rootpath / p).resolve() for p in config.getini("testpaths")]
    paths = []
    for arg in config.args:
        path = (base / arg.split("::", 1)[0]).resolve()
        if path.is_file() or not any(path.is_relative_to(t) for t in testpaths):
            paths.append(path)
    return paths


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist, on the controller: every worker writes the controller's run to its file."""
    session = node.config.stash[SESSION]
    node.workerinput[RUN_ID_KEY] = session.run_id
    node.workerinput[OUT_KEY] = str(session.out)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    session = parent.config.stash.get(SESSION, None)
    if session is not None and session.collects(file_path.resolve()):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(trylast=True)  # after -k/-m deselection
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    scenarios = config.stash.get(SESSION, None)
    if scenarios is not None:
        scenarios.selected = [item.variant for item in items if isinstance(item, ScenarioItem)]


def pytest_sessionfinish(session: pytest.Session) -> None:
    scenarios = session.config.stash.get(SESSION, None)
    if scenarios is not None:
        scenarios.close()


class Tally:
    """Counts scenario results where the terminal is (the xdist controller gets the workers' reports)."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.recorded = 0
        self.unexpected = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        properties = dict(report.user_properties)
        if report.when == "call" and "ft_verdict" in properties:
            self.recorded += 1
            self.unexpected += properties["ft_verdict"] == "unexpected"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.recorded:
            scenarios = self.config.stash[SESSION]
            terminalreporter.write_line(
                f"ft-harness: {self.recorded} variants, {self.unexpected} unexpected; "
                f"records: {_shown(scenarios.out, self.config)} (run {scenarios.run_id})"
            )


def _shown(path: Path, config: pytest.Config) -> str:
    """A path as `harness run` writes it into records: relative to where the run started."""
    base = config.invocation_params.dir
    return os.path.relpath(path, base) if path.is_relative_to(base) else str(path)


class ScenarioCollectError(Exception):
    """A scenario file that does not load: shown as its one clear message, never a traceback."""


class ScenarioFile(pytest.File):
    def collect(self) -> list[ScenarioItem]:
        from harness.errors import InputError

        scenarios = self.config.stash[SESSION]
        try:
            variants = scenarios.load(self.path)
        except InputError as error:
            raise self.CollectError(error.format()) from None
        items = []
        for variant in variants:
            first = scenarios.seen_ids.setdefault(variant.id, f"{variant.source}:{variant.line}")
            if first != f"{variant.source}:{variant.line}":
                raise self.CollectError(
                    f"{variant.source}:{variant.line}: duplicate scenario id '{variant.id}' (first defined at {first})"
                )
            items.append(ScenarioItem.from_parent(self, name=variant.id, variant=variant))
        return items


class UnexpectedResult(Exception):
    """The record does not match what the scenario expects here."""

    def __init__(self, record: Record):
        super().__init__(record.id)
        self.record = record


class ScenarioItem(pytest.Item):
    def __init__(self, *, variant: Variant, **kwargs: Any):
        super().__init__(**kwargs)
        self.variant = variant
        scenarios = self.config.stash[SESSION]
        for name in _marker_names(variant):
            marker = scenarios.marker(name)
            if marker is not None:
                self.add_marker(marker)

    def runtest(self) -> None:
        record = self.config.stash[SESSION].record(self.variant)
        self.user_properties += [
            ("ft_outcome", record.outcome),
            ("ft_verdict", record.expectation.verdict),
            ("ft_signature", record.signature.text if record.signature else ""),
            ("ft_run_id", record.run_id),
        ]
        if not record.as_expected:
            raise UnexpectedResult(record)
        if record.outcome == "skipped":
            pytest.skip(record.reason or "skipped")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, UnexpectedResult):
            return failure_message(excinfo.value.record)
        return super().repr_failure(excinfo, style)  # type: ignore[arg-type]

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.variant.line - 1, f"scenario {self.variant.id}"


def failure_message(record: Record) -> str:
    """The record's one-line summary, then each mismatch with its expectation, then where."""
    from harness.verdict import summarize

    lines = [summarize(record.model_dump(mode="json")), *(f"  {m}" for m in record.expectation.mismatches)]
    why = record.expectation.expected.get("why")
    if why:
        lines.append(f"  expected because: {why}")
    lines.append(f"  ({record.source}:{record.line}; `harness show '{record.id}'`)")
    return "\n".join(lines)


def _marker_names(variant: Variant) -> list[str]:
    """Tags, then the dimensions `harness run -k` matches: family, method, backend, checkpointing path."""
    scenario = variant.scenario
    names = [*scenario.tags, scenario.model.family, scenario.peft.method, scenario.quantization.backend]
    if scenario.checkpointing.enabled:
        names.append(scenario.checkpointing.via)
    return list(dict.fromkeys(name.lower() for name in names))
