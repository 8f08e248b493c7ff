"""Runs the shared ASL conformance cases (recorded against AWS) through the embedded API.

The cases live in ``<repo>/../shared/conformance``; CI lays ``shared/`` beside the clone. They are scored
with the reference comparator ``casecompare.py`` that ships with them. Every case is in scope;
OUT_OF_SCOPE_TAGS is where a tag whose feature is not built yet would be named.
"""

from __future__ import annotations

import importlib.util
import json
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import expressway

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CONFORMANCE = SHARED / "conformance"
OUT_OF_SCOPE_TAGS: frozenset[str] = frozenset()

if not (CONFORMANCE / "casecompare.py").is_file():
    raise RuntimeError(
        f"the shared conformance cases are missing: expected {CONFORMANCE} (shared/ beside the repository)"
    )


def _load_casecompare() -> ModuleType:
    spec = importlib.util.spec_from_file_location("casecompare", CONFORMANCE / "casecompare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


casecompare = _load_casecompare()


def in_scope(case: dict[str, Any]) -> bool:
    return not OUT_OF_SCOPE_TAGS.intersection(case["tags"])


def load_in_scope(subdir: str) -> dict[str, dict[str, Any]]:
    directory = CONFORMANCE / subdir
    if not directory.is_dir():
        raise RuntimeError(f"missing conformance directory {directory}")
    cases = casecompare.load_cases([str(directory)])
    if not cases:
        raise RuntimeError(f"no conformance cases in {directory}")
    return {cid: case for cid, case in cases.items() if in_scope(case)}


def load_expected_failures(path: Path) -> dict[str, str]:
    """``<case id>\\t<reason>`` per line; blank lines and lines starting with # are ignored."""
    failures: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        case_id, sep, reason = line.partition("\t")
        if not sep or not reason.strip():
            raise ValueError(f"{path}:{number}: expected '<case id>\\t<reason>'")
        if case_id in failures:
            raise ValueError(f"{path}:{number}: {case_id} is listed twice")
        failures[case_id] = reason.strip()
    return failures


# ---------------------------------------------------------------- needs_tasks -> handlers


def _raiser(type_name: str, message: str) -> expressway.Handler:
    # An exception class named exactly <Type> (dots included), so the Lambda-style cause says so.
    error_class = type(type_name, (Exception,), {})

    def handler(_event: Any) -> Any:
        raise error_class(message)

    return handler


def make_handler(spec: str) -> expressway.Handler:
    if spec == "echo":
        return lambda event: event
    if spec.startswith("const:"):
        value = json.loads(spec[len("const:") :])
        return lambda _event: value
    if spec.startswith("raise:"):
        type_name, _, message = spec[len("raise:") :].partition(":")
        return _raiser(type_name, message)
    raise ValueError(f"unknown needs_tasks spec {spec!r}")


def make_tasks(case: dict[str, Any]) -> dict[str, expressway.Handler]:
    return {name: make_handler(spec) for name, spec in (case.get("needs_tasks") or {}).items()}


# ---------------------------------------------------------------- running and scoring


@dataclass
class Outcome:
    actual: dict[str, Any]
    strict: bool
    status: bool
    reason: str
    crash: str | None = None


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    definition = case["definition"]
    if definition is None:
        definition = case["definition_text"]
    try:
        machine = expressway.StateMachine(definition, type=case["state_machine_type"])
    except expressway.InvalidDefinition as exc:
        return {"id": case["id"], "status": "INVALID_DEFINITION", "error": exc.code, "cause": str(exc)}
    result = machine.run(case["input"], tasks=make_tasks(case), time_scale=0)
    return {
        "id": case["id"],
        "status": result.status,
        "output": result.output,
        "error": result.error,
        "cause": result.cause,
    }


def score(case: dict[str, Any]) -> Outcome:
    try:
        actual = run_case(case)
    except Exception:  # noqa: BLE001 - a crash is scored as a failure, with its traceback
        crash = traceback.format_exc()
        actual = {"id": case["id"], "status": "CRASHED"}
        return Outcome(actual, False, False, "the run raised an exception", crash)
    strict, status, reason = casecompare.compare(case, actual)
    return Outcome(actual, bool(strict), bool(status), reason)


SUITES: list[Suite] = []


class Suite:
    """One directory of cases with its expected-failure list; outcomes are computed once."""

    def __init__(self, subdir: str, expected_failures: Path) -> None:
        self.subdir = subdir
        self.cases = load_in_scope(subdir)
        self.expected_failures_path = expected_failures
        self.expected_failures = load_expected_failures(expected_failures)
        self._outcomes: dict[str, Outcome] = {}
        SUITES.append(self)

    @property
    def ids(self) -> list[str]:
        return sorted(self.cases)

    def outcome(self, case_id: str) -> Outcome:
        if case_id not in self._outcomes:
            self._outcomes[case_id] = score(self.cases[case_id])
        return self._outcomes[case_id]

    def check(self, case_id: str) -> None:
        """The verdict for one case, as a test: a listed failure that now passes fails the test too."""
        case = self.cases[case_id]
        outcome = self.outcome(case_id)
        listed = self.expected_failures.get(case_id)
        if outcome.strict:
            if listed is not None:
                pytest.fail(
                    f"{case_id} passes now: remove it from {self.expected_failures_path.name}", pytrace=False
                )
            return
        details = (
            f"{case_id}: {outcome.reason}\n"
            f"expected: {json.dumps(case['expected'], ensure_ascii=False)[:2000]}\n"
            f"actual:   {json.dumps(outcome.actual, ensure_ascii=False, default=repr)[:2000]}"
        )
        if outcome.crash:
            details += "\n" + outcome.crash
        if listed is not None:
            pytest.xfail(f"{listed} ({outcome.reason})")
        pytest.fail(details, pytrace=False)

    def stale_entries(self) -> list[str]:
        return sorted(set(self.expected_failures) - set(self.cases))

    def strict_pass_rate(self) -> float:
        passed = sum(self.outcome(cid).strict for cid in self.ids)
        return passed / len(self.ids)

    def summary(self) -> str | None:
        """One line for the end of the test run, when every case has been scored."""
        if len(self._outcomes) < len(self.cases):
            return None
        total = len(self.cases)
        strict = sum(o.strict for o in self._outcomes.values())
        status = sum(o.status for o in self._outcomes.values())
        return (
            f"conformance {self.subdir}: {total} in-scope cases, strict {strict} ({strict / total:.1%}), "
            f"status {status} ({status / total:.1%}), expected failures {len(self.expected_failures)}"
        )
