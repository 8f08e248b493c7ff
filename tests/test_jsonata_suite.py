"""The JSONata reference test suite (../shared/jsonata-suite/cases.jsonl, from jsonata-js 2.0.6) through
``expressway.jsonata_evaluate``.

Every case must pass unless it is listed in tests/jsonata/expected_failures.txt; a listed case that passes
fails too, so the list only shrinks. (The two cases whose expression holds a lone UTF-16 surrogate are
listed there: a Python str with one cannot reach the engine's UTF-8 strings.)"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import expressway
from conformance_support import load_expected_failures

REPO = Path(__file__).resolve().parents[1]
CASES_FILE = REPO.parent / "shared" / "jsonata-suite" / "cases.jsonl"
EXPECTED_FAILURES_FILE = Path(__file__).parent / "jsonata" / "expected_failures.txt"
MIN_PASS_RATE = 0.99

if not CASES_FILE.is_file():
    raise RuntimeError(
        f"the shared JSONata suite is missing: expected {CASES_FILE} (shared/ beside the repository)"
    )


def _load_cases() -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = {}
    with CASES_FILE.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                case = json.loads(line)
                cases[case["id"]] = case
    return cases


CASES = _load_cases()
EXPECTED_FAILURES = load_expected_failures(EXPECTED_FAILURES_FILE)


# ------------------------------------------------------------------------------------------- comparison


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _canonical(x: Any) -> Any:
    """A hashable form in which equal JSON values (numbers by value) are equal."""
    if _is_number(x):
        return ("n", float(x))
    if isinstance(x, list):
        return ("a", tuple(_canonical(i) for i in x))
    if isinstance(x, dict):
        return ("o", frozenset((k, _canonical(v)) for k, v in x.items()))
    return (type(x).__name__, x)


def json_equal(actual: Any, expected: Any, unordered: bool = False) -> bool:
    """Deep JSON equality: numbers by value, a bool never a number, arrays as multisets if ``unordered``."""
    if _is_number(actual) and _is_number(expected):
        return float(actual) == float(expected) or (math.isnan(actual) and math.isnan(expected))
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(actual, list) and isinstance(expected, list):
        if len(actual) != len(expected):
            return False
        if unordered:
            return Counter(_canonical(a) for a in actual) == Counter(_canonical(e) for e in expected)
        return all(json_equal(a, e) for a, e in zip(actual, expected, strict=True))
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            json_equal(actual[k], expected[k], unordered) for k in actual
        )
    return type(actual) is type(expected) and actual == expected


# ------------------------------------------------------------------------------------------- running


def run_case(case: dict[str, Any]) -> tuple[bool, str]:
    """(passed, what happened)"""
    kwargs: dict[str, Any] = {}
    if not case.get("data_undefined"):
        kwargs["data"] = case["data"]
    if case.get("bindings") is not None:
        kwargs["bindings"] = case["bindings"]
    if "timelimit" in case and "depth" in case:
        kwargs["timeout_ms"] = case["timelimit"]
        kwargs["max_depth"] = case["depth"]
    expected = case["expected"]
    try:
        result = expressway.jsonata_evaluate(case["expr"], **kwargs)
    except UnicodeEncodeError as e:  # a lone surrogate: not text the engine can hold
        return False, f"not UTF-8 text: {e}"
    except expressway.JsonataError as e:
        if "error" in expected:
            ok = e.code == expected["error"]
            return ok, f"error {e.code} (expected {expected['error']}): {e.message}"
        return False, f"unexpected error {e.code}: {e.message}"
    if "error" in expected:
        return False, f"expected error {expected['error']}, got {result!r}"[:2000]
    if "undefined" in expected:
        return result is expressway.UNDEFINED, f"expected undefined, got {result!r}"[:2000]
    if result is expressway.UNDEFINED:
        return False, "got undefined"
    ok = json_equal(result, expected["result"], bool(case.get("unordered")))
    return ok, f"expected {json.dumps(expected['result'])[:1000]}\nactual   {json.dumps(result)[:1000]}"


_OUTCOMES: dict[str, tuple[bool, str]] = {}


def outcome(case_id: str) -> tuple[bool, str]:
    if case_id not in _OUTCOMES:
        _OUTCOMES[case_id] = run_case(CASES[case_id])
    return _OUTCOMES[case_id]


def _scored_ids() -> list[str]:
    return sorted(CASES)


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_case(case_id: str) -> None:
    case = CASES[case_id]
    passed, detail = outcome(case_id)
    listed = EXPECTED_FAILURES.get(case_id)
    if passed:
        if listed is not None:
            pytest.fail(f"{case_id} passes now: remove it from {EXPECTED_FAILURES_FILE.name}", pytrace=False)
        return
    if listed is not None:
        pytest.xfail(listed)
    pytest.fail(f"{case_id}: {case['expr']!r}\n{detail}", pytrace=False)


def test_expected_failures_name_cases() -> None:
    assert sorted(set(EXPECTED_FAILURES) - set(CASES)) == []


def test_pass_rate() -> None:
    ids = _scored_ids()
    passed = sum(outcome(cid)[0] for cid in ids)
    rate = passed / len(ids)
    assert rate >= MIN_PASS_RATE, f"JSONata suite pass rate {rate:.2%} < {MIN_PASS_RATE:.0%}"


def test_comparison_rules() -> None:
    assert json_equal(10000000.0, 10000000)
    assert not json_equal(True, 1)
    assert not json_equal(1, True)
    assert json_equal([1, [2, 3]], [[2, 3], 1.0], unordered=True)
    assert not json_equal([1, 1, 2], [1, 2, 2], unordered=True)
    assert json_equal({"a": [1, 2]}, {"a": [2, 1]}, unordered=True)
