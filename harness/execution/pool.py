"""The parent's side of isolation: start the supervisor, feed it variants, collect observations.

The parent never imports torch. If the supervisor itself dies (not a child: those are handled
inside it), a new one takes over, as often as needed, after a back-off that grows while nothing
completes. A variant that was running alone when the supervisor died killed it, and is recorded
so; variants that were running together are each run again alone, so only the one that kills
it is blamed. When the pool closes, every process the run started is gone (they all carry the
pool's token in their environment, whoever their parent has become).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from harness.dsl.catalog import Variant
from harness.execution.stack import QUIET_ENVIRONMENT
from harness.execution.supervisor import GRACE_AFTER_DUMP_S, SPAWN_IMPORT_ALLOWANCE_S, receive, send

STARTUP_TIMEOUT_S = 900.0
# Back-off before restarting a lost supervisor: doubles with each loss while no variant completes.
RESTART_BACKOFF_S = 0.25
MAX_RESTART_BACKOFF_S = 10.0
# Starts that fail in a row (the supervisor dies or hangs while importing) before the remaining
# variants are recorded as crashed: an environment that cannot start cannot run them.
MAX_FAILED_STARTS = 3
# A supervisor silent for longer than its slowest running variant's limit plus this is hung.
SILENCE_ALLOWANCE_S = 60.0
POOL_TOKEN_VARIABLE = "FT_HARNESS_POOL"


class StackImportError(Exception):
    """The environment's stack cannot even be imported: every variant records it."""

    def __init__(self, error: dict[str, Any], output: str):
        super().__init__(f"{error.get('type')}: {error.get('message')}")
        self.error = error
        self.output = output


class SupervisorLost(Exception):
    pass


@dataclass(frozen=True)
class Limits:
    """Per-run overrides of the scenarios' own limits."""

    timeout: float | None = None
    memory_mb: int | None = None


class WorkerPool:
    def __init__(self, device: str = "cpu", jobs: int = 1, isolation: str | None = None, python: str = sys.executable):
        self.device = device
        self.jobs = max(1, jobs)
        # "auto": the supervisor decides once it knows the device (fork on CPU, spawn for CUDA)
        self.isolation = isolation or "auto"
        self.python = python
        self.env: dict[str, Any] = {}
        self.startup_s = 0.0
        self.restarts = 0
        self._losses_in_a_row = 0  # supervisor losses since a variant last completed
        self._token = secrets.token_hex(8)  # marks every process of this pool, for the final sweep
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the pool

    def __enter__(self) -> WorkerPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        to_server_read, to_server_write = os.pipe()
        from_server_read, from_server_write = os.pipe()
        self._process = subprocess.Popen(
            [
                self.python,
                "-m",
                "harness.execution.supervisor",
                "--inbox",
                str(to_server_read),
                "--outbox",
                str(from_server_write),
                "--jobs",
                str(self.jobs),
                "--device",
                self.device,
                "--isolation",
                self.isolation,
            ],
            pass_fds=(to_server_read, from_server_write),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **QUIET_ENVIRONMENT, POOL_TOKEN_VARIABLE: self._token},
        )
        os.close(to_server_read)
        os.close(from_server_write)
        self._inbox = Connection(to_server_write, readable=False)
        self._outbox = Connection(from_server_read, writable=False)
        message = self._receive(STARTUP_TIMEOUT_S)
        if message["op"] == "import_error":
            self.close()
            raise StackImportError(message["error"], self.log_tail())
        self.env = message["env"]
        self.startup_s = message["startup_s"]

    def run(self, variants: list[Variant], limits: Limits = Limits()) -> Iterator[tuple[Variant, dict[str, Any]]]:
        """Yield (variant, observation) as variants complete (in completion order).

        Every variant is yielded exactly once, whatever happens to the supervisor.
        """
        pending = deque(enumerate(variants))
        suspects: deque[tuple[int, Variant]] = deque()  # were running when it died: rerun alone
        in_flight: dict[int, Variant] = {}
        if self._process is None or self._process.poll() is not None:
            try:  # it died after the last variant of an earlier call (or was closed)
                self._restart()
            except SupervisorLost as failed:
                reason = f"worker supervisor could not be restarted: {failed}"
                for _, variant in pending:
                    yield variant, supervisor_lost(reason, self.log_tail())
                return
        self._preload(variants)
        while pending or suspects or in_flight:
            try:
                self._fill(pending, suspects, in_flight, limits)
                message = self._receive(self._silence_limit(in_flight, limits))
            except SupervisorLost as lost:
                yield from self._after_loss(str(lost), in_flight, suspects)
                if not (pending or suspects):
                    return  # nothing left to run: no new supervisor needed
                try:
                    self._restart()
                except SupervisorLost as failed:
                    reason = f"worker supervisor could not be restarted: {failed}"
                    for _, variant in [*suspects, *pending]:
                        yield variant, supervisor_lost(reason, self.log_tail())
                    return
                self._preload(variants)
                continue
            if message["op"] == "done":
                self._losses_in_a_row = 0
                yield in_flight.pop(message["key"]), message["observation"]

    def _fill(
        self,
        pending: deque[tuple[int, Variant]],
        suspects: deque[tuple[int, Variant]],
        in_flight: dict[int, Variant],
        limits: Limits,
    ) -> None:
        """Submit up to `jobs` variants; a suspect only when nothing else runs, and then alone."""
        queue, room = (suspects, 0 if in_flight else 1) if suspects else (pending, self.jobs - len(in_flight))
        for _ in range(min(room, len(queue))):
            key, variant = queue[0]
            self._submit(key, variant, limits)  # on SupervisorLost it stays queued: it never ran
            queue.popleft()
            in_flight[key] = variant

    def _after_loss(
        self, reason: str, in_flight: dict[int, Variant], suspects: deque[tuple[int, Variant]]
    ) -> Iterator[tuple[Variant, dict[str, Any]]]:
        """Blame a lost supervisor on the variant that ran alone; rerun the others alone."""
        self._losses_in_a_row += 1
        if len(in_flight) == 1:
            (variant,) = in_flight.values()
            blame = f"{reason}, while only this variant ran: it took the supervisor down"
            yield variant, supervisor_lost(blame, self.log_tail())
        else:
            suspects.extend(sorted(in_flight.items(), key=lambda item: item[0]))
        in_flight.clear()

    def _silence_limit(self, in_flight: dict[int, Variant], limits: Limits) -> float | None:
        """How long the supervisor may stay silent before it counts as hung."""
        if not in_flight:
            return None
        longest = max(limits.timeout or variant.scenario.timeout for variant in in_flight.values())
        spawn = SPAWN_IMPORT_ALLOWANCE_S if self.env.get("isolation") == "spawn" else 0.0
        return longest + GRACE_AFTER_DUMP_S + spawn + SILENCE_ALLOWANCE_S

    def _preload(self, variants: list[Variant]) -> None:
        families = sorted({v.scenario.model.family for v in variants})
        trainer = any(v.scenario.runner == "trainer" for v in variants)
        # the auto family's architectures: their modeling modules and tiny configs, once (a sweep)
        models = sorted(
            {
                (v.scenario.model.architecture, v.scenario.model.task or "")
                for v in variants
                if v.scenario.model.architecture
            }
        )
        message = {"op": "preload", "families": families, "trainer": trainer, "models": models}
        with contextlib.suppress(OSError):  # a supervisor gone already is found at the next receive
            send(self._inbox, message)

    def _submit(self, key: int, variant: Variant, limits: Limits) -> None:
        message = {
            "op": "run",
            "key": key,
            "variant": variant.to_json(),
            "timeout": limits.timeout or variant.scenario.timeout,
            "memory_mb": limits.memory_mb or variant.scenario.memory_mb,
        }
        try:
            send(self._inbox, message)
        except OSError as exc:
            raise SupervisorLost(f"the supervisor stopped reading ({exc.strerror or exc})") from None

    def _receive(self, timeout: float | None) -> dict[str, Any]:
        while True:
            if not wait([self._outbox], timeout=timeout):
                raise SupervisorLost(f"no answer from the supervisor within {timeout:g} s")
            try:
                message = receive(self._outbox)
            except (EOFError, OSError, ValueError):
                code = self._process.wait() if self._process else None
                raise SupervisorLost(f"the supervisor process ended (exit status {_status(code)})") from None
            if message["op"] != "started":
                return message

    def _restart(self) -> None:
        """A new supervisor, after a back-off; raises SupervisorLost if none can be started."""
        for attempt in range(1, MAX_FAILED_STARTS + 1):
            self.restarts += 1
            self.close()
            time.sleep(min(RESTART_BACKOFF_S * 2 ** (self._losses_in_a_row - 1), MAX_RESTART_BACKOFF_S))
            try:
                self.start()
                return
            except (SupervisorLost, StackImportError) as failed:
                self._losses_in_a_row += 1
                if attempt == MAX_FAILED_STARTS:
                    raise SupervisorLost(f"{attempt} starts in a row failed, the last: {failed}") from None

    def log_tail(self, limit: int = 4000) -> str:
        self._log.flush()
        self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, self._log.tell() - limit))
        return self._log.read().decode("utf-8", "replace")

    def close(self) -> None:
        if self._process is None:
            return
        with contextlib.suppress(OSError):
            send(self._inbox, {"op": "stop"})
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        for conn in (self._inbox, self._outbox):
            conn.close()
        self._process = None
        # The supervisor ends what it started; if it was killed first, this ends what is left.
        kill_marked(f"{POOL_TOKEN_VARIABLE}={self._token}")


def kill_marked(marker: str) -> list[int]:
    """SIGKILL every process (of this user) whose environment holds ``marker``; their pids."""
    needle = marker.encode() + b"\0"
    killed = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in Path(f"/proc/{entry.name}/environ").read_bytes():
                continue
            os.kill(int(entry.name), signal.SIGKILL)
            killed.append(int(entry.name))
        except OSError:  # gone, or not ours to read
            continue
    return killed


def _status(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"{code}, killed by {signal.Signals(-code).name}"
    return str(code)


def supervisor_lost(reason: str, log: str) -> dict[str, Any]:
    return {"outcome": "crashed", "phase": None, "reason": f"worker supervisor lost: {reason}", "output_tail": log}


def import_failed(error: StackImportError) -> dict[str, Any]:
    return {
        "outcome": "import_error",
        "phase": None,
        "error": error.error,
        "output_tail": error.output,
        "reason": f"the stack does not import: {error}",
    }
