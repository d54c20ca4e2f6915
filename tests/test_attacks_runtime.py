"""Attacks on the runtime (issue 13 items 5-6, issue 8 item 6), each reproduced on the real stack.

A variant that leaves processes behind, sends what cannot become a record, or keeps killing the
supervisor gets its own record, and the run goes on; no process of a run outlives it. Failure
signatures do not depend on the hash seed, and what the stack prints at import is recorded once
per environment, not as every variant's noise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import FIXTURES, ROOT, Completed, tagged_processes

from harness.dsl.catalog import load_file
from harness.runner import RunOptions, build_record
from harness.signature import signature_id, signature_text

HOOKS = '''
"""Misbehaving steps: each writes what it started to pids.txt beside this module."""

import os
import signal
import time
from pathlib import Path

HERE = Path(__file__).parent


def _note(name, pid):
    with (HERE / name).open("a") as handle:
        handle.write(f"{pid}\\n")


def _train(model, batch, context):
    context.enter_phase("forward")
    loss = model(**batch).loss
    context.enter_phase("backward")
    loss.backward()


def linger_then_pass(model, batch, context):
    """Leaves a sleeping child in its own process group and trains fine: the child must not stay."""
    pid = os.fork()
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    _note("pids.txt", pid)
    _train(model, batch, context)


def orphan_then_exit(model, batch, context):
    """Forks a sleeping child holding every inherited pipe, then dies without reporting."""
    context.enter_phase("forward")
    pid = os.fork()
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    _note("pids.txt", pid)
    os._exit(1)


def escape_then_pass(model, batch, context):
    """Starts a process in a session of its own (out of the variant's group), then trains fine."""
    pid = os.fork()
    if pid == 0:
        os.setsid()
        time.sleep(600)
        os._exit(0)
    _note("pids.txt", pid)
    _train(model, batch, context)


def orphan_then_hang(model, batch, context):
    context.enter_phase("forward")
    pid = os.fork()
    if pid == 0:
        time.sleep(600)
        os._exit(0)
    _note("pids.txt", pid)
    time.sleep(600)


def nothing_left_behind(model, batch, context):
    """Runs last: every process an earlier variant left must be gone by now."""
    alive = []
    for line in (HERE / "pids.txt").read_text().split():
        stat = Path(f"/proc/{line}/stat")
        if stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
            alive.append(int(line))
    if alive:
        raise RuntimeError(f"processes left behind by earlier variants still run: {alive}")
    _train(model, batch, context)


def lone_surrogate(model, batch, context):
    context.enter_phase("forward")
    raise RuntimeError("bad byte \\udcff in a message")


def phase_not_a_name(model, batch, context):
    context.enter_phase({"x": 1})
    _train(model, batch, context)


def unordered_set(model, batch, context):
    context.enter_phase("forward")
    raise ValueError(f"target modules {set(['v_proj', 'q_proj', 'k_proj', 'o_proj'])} not found")


def break_stack_then_kill_supervisor(model, batch, context):
    """Leaves an environment whose stack no longer imports, then takes the supervisor down."""
    context.enter_phase("forward")
    (HERE / "stack-broken").write_text("peft")
    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(30)


def kill_supervisor(model, batch, context):
    """Takes down the process that forked this variant, every time it runs."""
    context.enter_phase("forward")
    _note("deaths.txt", os.getpid())
    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(30)
'''

LEFTOVERS = """\
id: leftovers
description: variants that leave processes behind
model: {family: llama}
timeout: 5
cases:
  a-escape: {steps.hook: "attack_hooks:escape_then_pass"}
  a-linger: {steps.hook: "attack_hooks:linger_then_pass"}
  b-orphan: {steps.hook: "attack_hooks:orphan_then_exit"}
  c-hang: {steps.hook: "attack_hooks:orphan_then_hang"}
  d-after: {steps.hook: "attack_hooks:nothing_left_behind"}
expect:
  - when: {case: b-orphan}
    outcome: crashed
    reason: "exited with code 1"
  - when: {case: c-hang}
    outcome: timed_out
  - outcome: passed
"""

UNRECORDABLE = """\
id: unrecordable
description: variants whose observations break record building
model: {family: llama}
cases:
  a-surrogate: {steps.hook: "attack_hooks:lone_surrogate"}
  b-phase: {steps.hook: "attack_hooks:phase_not_a_name"}
  c-set: {steps.hook: "attack_hooks:unordered_set"}
  d-after: {}
expect:
  - when: {case: a-surrogate}
    outcome: failed
    error: RuntimeError
  - when: {case: b-phase}
    outcome: crashed
    reason: "could not record"
  - when: {case: c-set}
    outcome: failed
    error: ValueError
  - outcome: passed
"""

DEATHS = """\
id: deaths
description: two variants kill the supervisor whenever they run, each beside a healthy one
model: {family: llama}
cases:
  a-kills: {steps.hook: "attack_hooks:kill_supervisor"}
  b-healthy: {}
  c-kills: {steps.hook: "attack_hooks:kill_supervisor"}
  d-healthy: {}
expect:
  - when: {case: a-kills}
    outcome: crashed
    reason: "worker supervisor lost"
  - when: {case: c-kills}
    outcome: crashed
    reason: "worker supervisor lost"
  - outcome: passed
"""


def scenario(folder: Path, text: str) -> Path:
    (folder / "attack_hooks.py").write_text(HOOKS)
    path = folder / f"{text.split(maxsplit=2)[1]}.yaml"
    path.write_text(text)
    return path


def run_tagged(*args: str | Path, out: Path, tag: str, timeout: float = 300, **env: str) -> Completed:
    """`harness run` with a marker in its environment, which every process it starts inherits."""
    command = [sys.executable, "-m", "harness", "run", *map(str, args), "--out", str(out)]
    environment = {**os.environ, "COLUMNS": "200", "FT_HARNESS_TEST_TAG": tag, **env}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=environment)
    records = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return Completed(done.returncode, done.stdout, done.stderr, records)


def test_processes_left_behind_neither_hang_the_run_nor_outlive_it(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex
    started = time.monotonic()
    done = run_tagged(scenario(tmp_path, LEFTOVERS), out=tmp_path / "r.jsonl", tag=tag, timeout=240)
    assert done.code == 0, done.stdout + done.stderr
    assert time.monotonic() - started < 200
    by_id = done.by_id()
    orphan = by_id["leftovers[b-orphan]"]
    assert orphan["reason"] == "exited with code 1 before reporting a result"
    assert orphan["duration_s"] < 5  # ended at its exit, not at its timeout, though a pipe stayed open
    hang = by_id["leftovers[c-hang]"]
    assert hang["outcome"] == "timed_out" and "no result after 5 s" in hang["reason"]
    assert hang["duration_s"] < 15  # its timeout and the grace after the stack dump, not more
    assert by_id["leftovers[a-escape]"]["outcome"] == "passed"
    assert by_id["leftovers[a-linger]"]["outcome"] == "passed"
    # the last variant checked that the earlier ones' processes were gone while the run went on
    assert by_id["leftovers[d-after]"]["outcome"] == "passed", by_id["leftovers[d-after]"]["error"]
    assert len((tmp_path / "pids.txt").read_text().split()) == 4
    assert tagged_processes(tag) == [], "a process of the run outlived it"


def test_an_observation_that_cannot_become_a_record_is_that_variants_crash(tmp_path: Path) -> None:
    done = run_tagged(scenario(tmp_path, UNRECORDABLE), out=tmp_path / "r.jsonl", tag=uuid.uuid4().hex)
    assert done.code == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    by_id = done.by_id()
    surrogate = by_id["unrecordable[a-surrogate]"]
    assert surrogate["error"]["message"] == "bad byte \\udcff in a message"  # escaped, not lost
    assert surrogate["signature"]["text"] == "forward | RuntimeError: bad byte \\udcff in a message"
    phase = by_id["unrecordable[b-phase]"]
    assert phase["outcome"] == "crashed" and phase["phase"] is None
    assert phase["reason"].startswith("the harness could not record this variant's observation: ValidationError")
    assert "phase" in phase["reason"] and "{'x': 1}" in phase["reason"]
    assert by_id["unrecordable[c-set]"]["signature"]["text"] == (
        "forward | ValueError: target modules {'k_proj', 'o_proj', 'q_proj', 'v_proj'} not found"
    )
    assert by_id["unrecordable[d-after]"]["outcome"] == "passed"


def test_the_supervisor_is_restarted_as_often_as_needed_and_only_its_killer_is_blamed(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex
    done = run_tagged(scenario(tmp_path, DEATHS), "-j", "2", out=tmp_path / "r.jsonl", tag=tag, timeout=600)
    assert done.code == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    # each killer ran once beside a healthy variant and once alone: four deaths, more than the
    # three restarts the pool used to allow
    assert len((tmp_path / "deaths.txt").read_text().split()) == 4
    by_id = done.by_id()
    assert len(done.records) == 4
    for killer in ("a-kills", "c-kills"):
        record = by_id[f"deaths[{killer}]"]
        assert record["outcome"] == "crashed"
        assert record["reason"].startswith("worker supervisor lost: the supervisor process ended")
        assert record["reason"].endswith("while only this variant ran: it took the supervisor down")
    for healthy in ("b-healthy", "d-healthy"):  # in flight at a death, rerun alone: not blamed
        assert by_id[f"deaths[{healthy}]"]["outcome"] == "passed"
    assert tagged_processes(tag) == []


HOSTILE_OBSERVATIONS = {
    "surrogate in an error": {"outcome": "failed", "phase": "forward", "error": {"type": "E", "message": "\udcff"}},
    "phase not a name": {"outcome": "passed", "phase": {"x": 1}},
    "unknown outcome": {"outcome": "exploded"},
    "error not a mapping": {"outcome": "failed", "error": "notadict"},
    "not a mapping at all": ["outcome", "passed"],
    "no outcome": {},
    "surrogate in the output": {"outcome": "crashed", "reason": "x", "output_tail": "\udcff", "phase": "\udcff"},
}


@pytest.mark.parametrize("name", sorted(HOSTILE_OBSERVATIONS))
def test_build_record_never_raises_and_always_writes(name: str) -> None:
    """What reaches the parent is untrusted: it becomes a writable record, whatever it holds."""
    (variant,) = load_file(FIXTURES / "faults" / "flaky.yaml")
    env = {"device": "cpu", "python": "3.11.7", "import_messages": ["bad \udcff line"]}
    record = build_record(variant, HOSTILE_OBSERVATIONS[name], env, RunOptions(out=Path(os.devnull)), "run")
    line = record.to_line()
    assert json.loads(line)["env"]["import_messages"] == ["bad \\udcff line"]  # escaped as text, not lost
    assert record.outcome == ("failed" if name == "surrogate in an error" else "crashed")
    if not name.startswith("surrogate in"):  # those two are recorded as they are, escaped
        assert record.reason.startswith("the harness could not record this variant's observation: ")


# peft stops importing once a variant has written the flag file (see break_stack_then_kill_supervisor)
BREAKABLE_STACK = """
import importlib.abc
import os
import sys
from pathlib import Path


class BreakablePeft(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "peft" and Path(os.environ["FT_TEST_STACK_BROKEN"]).exists():
            raise ImportError("peft was broken by an earlier variant (test)")
        return None


sys.meta_path.insert(0, BreakablePeft())
"""

UNRESTARTABLE = """\
id: unrestartable
description: a variant kills the supervisor and leaves a stack that cannot import
model: {family: llama}
cases:
  a-breaks: {steps.hook: "attack_hooks:break_stack_then_kill_supervisor"}
  b-after: {}
  c-after: {}
expect:
  - when: {case: a-breaks}
    outcome: crashed
    reason: "while only this variant ran"
  - outcome: crashed
    reason: "worker supervisor could not be restarted"
"""


def test_a_supervisor_that_cannot_be_restarted_leaves_every_variant_recorded(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BREAKABLE_STACK)
    tag = uuid.uuid4().hex
    done = run_tagged(
        scenario(tmp_path, UNRESTARTABLE),
        out=tmp_path / "r.jsonl",
        tag=tag,
        PYTHONPATH=os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
        FT_TEST_STACK_BROKEN=str(tmp_path / "stack-broken"),
    )
    assert done.code == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    by_id = done.by_id()
    assert sorted(by_id) == ["unrestartable[a-breaks]", "unrestartable[b-after]", "unrestartable[c-after]"]
    for after in ("b-after", "c-after"):
        reason = by_id[f"unrestartable[{after}]"]["reason"]
        assert reason.startswith("worker supervisor lost: worker supervisor could not be restarted: 3 starts in a row")
        assert "peft was broken by an earlier variant (test)" in reason
    assert tagged_processes(tag) == []


MESSAGE_WITH_A_SET = "import sys; print(f\"target modules {set(['v_proj', 'q_proj', 'k_proj', 'o_proj'])} not found\")"


def test_a_set_in_a_message_gets_one_signature_whatever_the_hash_seed() -> None:
    messages = set()
    for seed in range(6):
        env = {**os.environ, "PYTHONHASHSEED": str(seed)}
        done = subprocess.run([sys.executable, "-c", MESSAGE_WITH_A_SET], capture_output=True, text=True, env=env)
        messages.add(done.stdout.strip())
    assert len(messages) > 1, "the hash seeds chosen should print the set in different orders"
    ids = {signature_id(signature_text("attach", "ValueError", message)) for message in messages}
    assert len(ids) == 1


# Emulates what bitsandbytes 0.42 does when imported on a machine without a GPU: a warning and
# a line on stderr, at import (the real import, of the real package, with a noise-making hook).
NOISY_IMPORT = """
import importlib.abc
import importlib.machinery
import sys
import warnings


class NoisyBitsandbytes(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "bitsandbytes":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None:
            return None
        real = spec.loader.exec_module

        def exec_module(module):
            real(module)
            warnings.warn("The installed version of bitsandbytes was compiled without GPU support (test).")
            print("bitsandbytes: CUDA Setup failed despite GPU being available (test)", file=sys.stderr)

        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, NoisyBitsandbytes())
"""


def test_what_the_stack_prints_at_import_is_recorded_once_per_environment(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NOISY_IMPORT)
    plain = tmp_path / "plain.yaml"
    plain.write_text("id: plain\ndescription: healthy\nmodel: {family: llama}\nvary: {model.seed: [1, 2]}\n")
    # spawned children import the stack themselves, so without the filter every output_tail repeats it
    done = run_tagged(
        plain,
        "--isolation",
        "spawn",
        "-j",
        "2",
        out=tmp_path / "r.jsonl",
        tag=uuid.uuid4().hex,
        PYTHONPATH=os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
    )
    assert done.code == 0, done.stdout + done.stderr
    assert len(done.records) == 2
    for record in done.records:
        printed = record["env"]["import_messages"]
        warning = "UserWarning: The installed version of bitsandbytes was compiled without GPU support (test)."
        assert any(line.endswith(warning) for line in printed), printed
        assert "bitsandbytes: CUDA Setup failed despite GPU being available (test)" in printed
        noise = [record["output_tail"], *(w["message"] for w in record["warnings"] + record["logs"])]
        assert not any("(test)" in text for text in noise), noise
