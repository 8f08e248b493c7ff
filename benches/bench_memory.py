"""Memory: RSS with N executions in flight, each waiting in a Task (an async handler awaiting an
Event). N is 100,000 (1,000 with EXPRESSWAY_BENCH_QUICK=1; EXPRESSWAY_BENCH_INFLIGHT overrides).
Measured in a child process; extra_info has the RSS figures and bytes per execution."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from _support import QUICK

N = int(os.environ.get("EXPRESSWAY_BENCH_INFLIGHT") or (1_000 if QUICK else 100_000))
PROBE = Path(__file__).with_name("_inflight_probe.py")


def test_in_flight_memory(benchmark):
    figures: dict = {}

    def once():
        out = subprocess.run([sys.executable, str(PROBE), str(N)], check=True, capture_output=True)
        figures.update(json.loads(out.stdout))

    benchmark.group = "memory"
    benchmark.pedantic(once, rounds=1)
    assert figures["succeeded"] == N, figures
    benchmark.extra_info.update(figures)
