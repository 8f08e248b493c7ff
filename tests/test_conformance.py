"""Every in-scope case of ../shared/conformance/cases/, recorded against AWS, must pass strictly unless it
is listed in tests/conformance/expected_failures.txt; a listed case that passes fails too, so the list
only shrinks."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance_support import Suite

MIN_STRICT_PASS_RATE = 0.97

SUITE = Suite("cases", Path(__file__).parent / "conformance" / "expected_failures.txt")


@pytest.mark.parametrize("case_id", SUITE.ids)
def test_case(case_id: str) -> None:
    SUITE.check(case_id)


def test_expected_failures_name_in_scope_cases() -> None:
    assert SUITE.stale_entries() == []


def test_strict_pass_rate() -> None:
    rate = SUITE.strict_pass_rate()
    assert rate >= MIN_STRICT_PASS_RATE, f"strict pass rate {rate:.1%} < {MIN_STRICT_PASS_RATE:.0%}"
