"""The in-scope cases of ../shared/conformance/docs-cases/ (built from AWS's documentation examples), with
their own expected-failure list, tests/conformance/expected_failures_docs.txt."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance_support import Suite

SUITE = Suite("docs-cases", Path(__file__).parent / "conformance" / "expected_failures_docs.txt")


@pytest.mark.parametrize("case_id", SUITE.ids)
def test_case(case_id: str) -> None:
    SUITE.check(case_id)


def test_expected_failures_name_in_scope_cases() -> None:
    assert SUITE.stale_entries() == []
