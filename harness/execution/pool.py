"""The parent's side of isolation: start the supervisor, feed it variants, collect observations.

The parent never imports torch. If the supervisor itself dies (not a child: those are handled
inside it), the variants it was running are recorded as crashed and a new supervisor takes over.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from harness.dsl.catalog import Variant
from harness.execution.stack import QUIET_ENVIRONMENT
from harness.execution.supervisor import receive, send

STARTUP_TIMEOUT_S = 900.0
MAX_RESTARTS = 3


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
            env={**os.environ, **QUIET_ENVIRONMENT},
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
        """Yield (variant, observation) as variants complete (in completion order)."""
        pending = deque(enumerate(variants))
        in_flight: dict[int, Variant] = {}
        self._preload(variants)
        while pending or in_flight:
            while pending and len(in_flight) < self.jobs:
                key, variant = pending.popleft()
                self._submit(key, variant, limits)
                in_flight[key] = variant
            try:
                message = self._receive(None)
            except SupervisorLost as lost:
                for variant in in_flight.values():
                    yield variant, supervisor_lost(str(lost), self.log_tail())
                in_flight.clear()
                self._restart()
                continue
            if message["op"] == "done":
                yield in_flight.pop(message["key"]), message["observation"]

    def _preload(self, variants: list[Variant]) -> None:
        families = sorted({v.scenario.model.family for v in variants})
        trainer = any(v.scenario.runner == "trainer" for v in variants)
        send(self._inbox, {"op": "preload", "families": families, "trainer": trainer})

    def _submit(self, key: int, variant: Variant, limits: Limits) -> None:
        send(
            self._inbox,
            {
                "op": "run",
                "key": key,
                "variant": variant.to_json(),
                "timeout": limits.timeout or variant.scenario.timeout,
                "memory_mb": limits.memory_mb or variant.scenario.memory_mb,
            },
        )

    def _receive(self, timeout: float | None) -> dict[str, Any]:
        while True:
            if not wait([self._outbox], timeout=timeout):
                raise SupervisorLost(f"no answer from the supervisor within {timeout:g} s")
            try:
                message = receive(self._outbox)
            except (EOFError, OSError):
                code = self._process.wait() if self._process else None
                raise SupervisorLost(f"the supervisor process ended (exit status {code})") from None
            if message["op"] != "started":
                return message

    def _restart(self) -> None:
        self.restarts += 1
        if self.restarts > MAX_RESTARTS:
            raise SupervisorLost(f"the supervisor died {self.restarts} times; giving up")
        self.close()
        self.start()

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
