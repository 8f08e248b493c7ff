"""The service's memory: state machines and executions.

Executions live in the worker process that runs them. Bounded: a running execution is always kept; of
the finished ones, the newest ``keep_finished`` per state machine are, and older ones are forgotten
(Describe then answers ExecutionDoesNotExist, as AWS does once an execution's record has expired).

State machines live in this process too when there is one worker. With several, they are shared
(:class:`SharedMachines`): each is a JSON file in a directory the supervisor made, and a generation
counter in shared memory tells a worker, at the cost of one read per lookup, that it must reload.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._driver import Driver
from .._machine import StateMachine
from .protocol import ServiceError

__all__ = ["ExecutionRecord", "MachineRecord", "SharedMachines", "Store", "page"]


@dataclass(slots=True)
class MachineRecord:
    arn: str
    name: str
    type: str
    definition: str
    role_arn: str
    machine: StateMachine
    creation_date: float
    update_date: float
    revision_id: str
    logging: dict[str, Any]
    tracing: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)
    deleting: bool = False
    running: int = 0
    finished: deque[str] = field(default_factory=deque)

    @property
    def records_history(self) -> bool:
        """History costs time, so it is recorded only when AWS would keep it: STANDARD machines, or
        machines whose logging level asks for it."""
        return self.type == "STANDARD" or self.logging.get("level", "OFF") != "OFF"


@dataclass(slots=True)
class ExecutionRecord:
    arn: str
    name: str
    machine: MachineRecord
    # What DescribeStateMachineForExecution reports: the machine as it was when the execution started.
    definition: str
    role_arn: str
    machine_update_date: float
    input: str
    start_date: float
    # The driver while the execution runs; afterwards only the core execution, and only when it
    # recorded a history (freeing the rest while it is still in the cache is much cheaper than
    # freeing it when the record is evicted, long after).
    driver: Driver | None
    history: bool
    trace_header: str | None = None
    core: Any = None
    task: asyncio.Task[None] | None = None
    status: str = "RUNNING"
    stop_date: float | None = None
    output: str | None = None
    error: str | None = None
    cause: str | None = None

    def settle(self) -> None:
        """Copies the outcome from the driver once the execution is over, and lets the driver go."""
        driver = self.driver
        if driver is None:
            return
        core = driver.core
        self.status = core.status
        end_ms = driver.end_ms
        self.stop_date = (end_ms if end_ms is not None else driver.start_ms) / 1000.0
        if self.status == "SUCCEEDED":
            self.output = core.output_json
        self.error = core.error
        self.cause = core.cause
        self.core = core if self.history else None
        self.driver = None
        self.task = None

    def history_json(self, include_data: bool) -> str:
        """The recorded events (see MachineRecord.records_history), as JSON text."""
        core = self.driver.core if self.driver is not None else self.core
        return core.history_json(include_data) if core is not None else "[]"


_PERSISTED = (
    "arn",
    "name",
    "type",
    "definition",
    "role_arn",
    "creation_date",
    "update_date",
    "revision_id",
    "logging",
    "tracing",
    "tags",
    "deleting",
)


class SharedMachines:
    """The state machines of all workers: one JSON file per machine in ``directory``, and ``generation``
    (a ``multiprocessing.Value('q')`` made by the supervisor) bumped after every change."""

    def __init__(self, directory: str | os.PathLike[str], generation: Any) -> None:
        self.directory = Path(directory)
        self.generation = generation

    def _path(self, name: str) -> Path:
        return self.directory / f"{name}.json"

    def _bump(self) -> None:
        with self.generation.get_lock():
            self.generation.value += 1

    def claim(self, record: MachineRecord) -> bool:
        """Writes a new machine's file unless another worker created that name first."""
        try:
            fd = os.open(self._path(record.name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({k: getattr(record, k) for k in _PERSISTED}, out)
        self._bump()
        return True

    def save(self, record: MachineRecord) -> None:
        path = self._path(record.name)
        scratch = path.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(json.dumps({k: getattr(record, k) for k in _PERSISTED}), encoding="utf-8")
        os.replace(scratch, path)  # atomic: a reader sees the old file or the new one
        self._bump()

    def remove(self, record: MachineRecord) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(record.name).unlink()
        self._bump()

    def load(self) -> list[dict[str, Any]]:
        machines = []
        for path in self.directory.glob("*.json"):
            try:
                machines.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue  # removed or being replaced right now: the next generation brings it
        return machines


class Store:
    def __init__(self, keep_finished: int = 1000, shared: SharedMachines | None = None) -> None:
        self.keep_finished = keep_finished
        self.shared = shared
        self._generation = -1
        self._machines: dict[str, MachineRecord] = {}
        self.executions: dict[str, ExecutionRecord] = {}

    # ------------------------------------------------------------------ state machines

    def _refresh(self) -> None:
        shared = self.shared
        if shared is None or shared.generation.value == self._generation:
            return
        self._generation = shared.generation.value
        fresh: dict[str, MachineRecord] = {}
        for data in sorted(shared.load(), key=lambda d: d["creation_date"]):
            known = self._machines.get(data["arn"])
            if known is not None and known.revision_id == data["revision_id"]:
                record = known
            else:
                try:
                    machine = StateMachine(
                        data["definition"], type=data["type"], name=data["name"], role_arn=data["role_arn"]
                    )
                except ValueError:
                    continue  # it compiled where it was created; a file we cannot use is skipped
                record = MachineRecord(machine=machine, **{k: data[k] for k in _PERSISTED})
                if known is not None:  # a new revision: the executions stay with the machine
                    record.running, record.finished = known.running, known.finished
            record.tags = data["tags"]
            record.deleting = data["deleting"]
            fresh[record.arn] = record
        self._machines = fresh

    def find(self, arn: str) -> MachineRecord | None:
        self._refresh()
        return self._machines.get(arn)

    def machine(self, arn: str) -> MachineRecord:
        record = self.find(arn)
        if record is None:
            raise ServiceError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        return record

    def machines(self) -> list[MachineRecord]:
        """Every state machine, oldest first."""
        self._refresh()
        return list(self._machines.values())

    def add_machine(self, record: MachineRecord) -> MachineRecord | None:
        """Adds a new machine; None when one of that name appeared meanwhile (another worker)."""
        if self.shared is not None and not self.shared.claim(record):
            return None
        self._machines[record.arn] = record
        return record

    def save_machine(self, record: MachineRecord) -> None:
        """Publishes a changed machine to the other workers."""
        if self.shared is not None:
            self.shared.save(record)

    # ------------------------------------------------------------------ executions

    def execution(self, arn: str) -> ExecutionRecord:
        record = self.executions.get(arn)
        if record is None:
            raise ServiceError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        return record

    def add_execution(self, record: ExecutionRecord) -> None:
        self.executions[record.arn] = record
        record.machine.running += 1

    def execution_ended(self, record: ExecutionRecord, keep: bool = True) -> None:
        """Moves a settled execution to its machine's finished list (or forgets it), evicting the oldest
        finished ones beyond the bound; a deleting machine goes once nothing of it runs."""
        machine = record.machine
        machine.running -= 1
        if keep and self.keep_finished > 0:
            machine.finished.append(record.arn)
            while len(machine.finished) > self.keep_finished:
                self.executions.pop(machine.finished.popleft(), None)
        else:
            self.executions.pop(record.arn, None)
        if machine.deleting and machine.running == 0:
            self.forget_machine(machine)

    def forget_machine(self, machine: MachineRecord) -> None:
        if self._machines.get(machine.arn) is machine:
            del self._machines[machine.arn]
            if self.shared is not None:
                self.shared.remove(machine)
        for arn in machine.finished:
            self.executions.pop(arn, None)
        machine.finished.clear()


def page(
    items: list[Any],
    max_results: int | None,
    next_token: str | None,
    *,
    scope: str,
    key: Callable[[Any], Any],
    default: int = 100,
) -> tuple[list[Any], str | None]:
    """One page of ``items`` and the token of the next (AWS: maxResults 0 means the default).

    A token names the listing it belongs to (``scope``: the operation and what it lists) and the
    last item it gave (its ``key``), not an offset: items added or removed meanwhile (a new
    execution at the head of a newest-first list) neither repeat nor skip items on the next page,
    and a token is refused by any other listing."""
    size = max_results or default
    start = 0
    if next_token is not None:
        last = _token_key(next_token, scope)
        start = next((i + 1 for i, item in enumerate(items) if key(item) == last), -1)
        if start < 0:  # the item it ended at is gone (deleted, or no longer kept)
            raise ServiceError("InvalidToken", f"Invalid Token: '{next_token}'")
    chunk = items[start : start + size]
    if start + size >= len(items) or not chunk:
        return chunk, None
    token = base64.urlsafe_b64encode(json.dumps([scope, key(chunk[-1])]).encode()).decode()
    return chunk, token


def _token_key(token: str, scope: str) -> Any:
    """The key of the last item a token's page gave, if the token belongs to ``scope``."""
    try:
        made_for, last = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise ServiceError("InvalidToken", f"Invalid Token: '{token}'") from None
    if made_for != scope:
        raise ServiceError("InvalidToken", f"Invalid Token: '{token}'")
    return last
