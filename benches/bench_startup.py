"""Cold start: ``expressway run`` on W1 as a whole new process (wall time and peak RSS).

For scale, the same is measured for a bare ``python -c pass`` (the interpreter's own floor).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _support import QUICK, WORKLOADS_DIR, load

ROUNDS = 1 if QUICK else 10


def _expressway_cmd() -> list[str]:
    script = Path(sys.executable).with_name("expressway")
    name = "w1-pass-chain"
    load(name)  # fails loudly when the workloads are missing
    args = [
        "run",
        str(WORKLOADS_DIR / f"{name}.asl.json"),
        "--input-file",
        str(WORKLOADS_DIR / f"{name}.input.json"),
    ]
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "expressway", *args]


# A child's ru_maxrss starts from its parent's high-water mark at fork/exec, so the child is not
# started from the (large) pytest process: a tiny interpreter forks it and reports its own
# RUSAGE_CHILDREN peak, which is the measured command's alone once it exceeds the starter's.
_STARTER = """
import json, os, resource, sys, time
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status = os.waitpid(pid, 0)
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps([os.waitstatus_to_exitcode(status), wall, peak]), file=sys.stderr)
"""


def _spawn(cmd: list[str]) -> tuple[int, bytes, float, int]:
    """Run cmd; return (exit code, stdout, wall seconds, peak RSS bytes of cmd's process)."""
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", _STARTER, *cmd], capture_output=True, check=True)
    code, wall, peak = json.loads(proc.stderr.splitlines()[-1])
    return code, proc.stdout, wall, peak


@pytest.mark.parametrize("what", ["expressway-run-w1", "python-c-pass"])
def test_cold_start(benchmark, what):
    cmd = _expressway_cmd() if what == "expressway-run-w1" else [sys.executable, "-c", "pass"]
    code, out, _, _ = _spawn(cmd)
    assert code == 0, out
    if what == "expressway-run-w1":
        assert json.loads(out)["status"] == "SUCCEEDED", out

    rss: list[int] = []
    walls: list[float] = []

    def once():
        rc, _out, wall, peak = _spawn(cmd)
        assert rc == 0
        rss.append(peak)
        walls.append(wall)

    benchmark.group = "cold start"
    benchmark.pedantic(once, rounds=ROUNDS, warmup_rounds=0 if QUICK else 1)
    # The benchmark's own timing includes the starter interpreter; wall_* is the command alone.
    walls.sort()
    benchmark.extra_info.update(
        command=" ".join(cmd),
        peak_rss_bytes=max(rss),
        wall_median_s=walls[len(walls) // 2],
        wall_min_s=walls[0],
    )
