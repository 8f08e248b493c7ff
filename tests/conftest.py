from __future__ import annotations

import sys

import pytest

from helpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    support = sys.modules.get("conformance_support")
    for suite in getattr(support, "SUITES", []):
        line = suite.summary()
        if line:
            terminalreporter.write_line(line)
