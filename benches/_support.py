"""Shared pieces of the benchmark suite: the workloads W1-W5, their handlers, sizes and checks.

The workloads live in ``../shared/workloads`` beside the clone (CI has ``shared/`` there too); the
suite fails loudly when that directory is missing. ``EXPRESSWAY_BENCH_QUICK=1`` (what ``make
bench-quick`` sets) shrinks every size so that each benchmark runs once, quickly.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WORKLOADS_DIR = Path(os.environ.get("EXPRESSWAY_WORKLOADS", REPO.parent / "shared" / "workloads"))
QUICK = os.environ.get("EXPRESSWAY_BENCH_QUICK", "") not in ("", "0")

WORKLOAD_NAMES = ("w1-pass-chain", "w2-choice-loop", "w3-map-100", "w4-task-retry", "w5-parallel-3")
CONCURRENCY = 16


def _require_dir() -> Path:
    if not (WORKLOADS_DIR / "index.json").is_file():
        raise RuntimeError(
            f"benchmark workloads not found at {WORKLOADS_DIR} (expected ../shared/workloads beside the "
            "clone, or set EXPRESSWAY_WORKLOADS)"
        )
    return WORKLOADS_DIR


@dataclass(frozen=True)
class Workload:
    name: str
    definition_json: str
    input: Any
    expected: Any
    transitions: int

    @property
    def definition(self) -> dict:
        return json.loads(self.definition_json)

    def input_for(self, n: int) -> Any:
        """The input of the n-th execution (W4 needs a runId of its own per execution)."""
        if self.name == "w4-task-retry":
            return {**self.input, "runId": f"run-{n}"}
        return self.input

    def expected_for(self, inp: Any) -> Any:
        if self.name == "w4-task-retry":
            return {**self.expected, "runId": inp["runId"]}
        return self.expected


def load(name: str) -> Workload:
    base = _require_dir()
    index = json.loads((base / "index.json").read_text())
    return Workload(
        name=name,
        definition_json=(base / f"{name}.asl.json").read_text(),
        input=json.loads((base / f"{name}.input.json").read_text()),
        expected=json.loads((base / f"{name}.expected.json").read_text()),
        transitions=int(index[name]["transitions"]),
    )


def matches(expected: Any, actual: Any) -> bool:
    """Deep equality where the string ``"*"`` in ``expected`` matches any value."""
    if expected == "*":
        return True
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(matches(v, actual[k]) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(matches(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return type(expected) is type(actual) and expected == actual


class CustomError(Exception):
    pass


class FatalError(Exception):
    pass


class W4Handlers:
    """W4's handlers: ``flaky`` fails the first call per runId with CustomError, then succeeds;
    ``fatal`` always raises FatalError."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def flaky(self, event: dict) -> dict:
        run_id = event["runId"]
        if run_id not in self._seen:
            self._seen.add(run_id)
            raise CustomError(f"first attempt for {run_id}")
        self._seen.discard(run_id)
        return {"ok": True, "calls": 2}

    @staticmethod
    def fatal(event: dict) -> dict:
        raise FatalError("this task always fails")

    def tasks(self) -> dict:
        return {"flaky": self.flaky, "fatal": self.fatal}


def tasks_for(name: str) -> dict | None:
    return W4Handlers().tasks() if name == "w4-task-retry" else None


_counter = itertools.count()


def next_index() -> int:
    """A process-wide execution number (fresh W4 runIds across rounds)."""
    return next(_counter)


def record_rates(benchmark, *, executions_per_round: int, transitions: int, **info: Any) -> None:
    """Put the sizes in extra_info and, when timings exist, executions/s and transitions/s."""
    benchmark.extra_info.update(info)
    benchmark.extra_info["executions_per_round"] = executions_per_round
    benchmark.extra_info["transitions_per_execution"] = transitions
    stats = getattr(benchmark, "stats", None)
    if stats is None:  # --benchmark-disable: nothing was timed
        return
    mean = stats.stats.mean
    if mean > 0:
        benchmark.extra_info["executions_per_s"] = executions_per_round / mean
        benchmark.extra_info["transitions_per_s"] = executions_per_round * transitions / mean
