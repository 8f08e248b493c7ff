"""The service under load: StartSyncExecution of W1 over HTTP, against a bare aiohttp handler.

``expressway serve --workers N`` (N = 1 and 2) and ``_bare_server.py --workers N`` (the same
aiohttp, uvloop, access log off, SO_REUSEPORT for N > 1, answering ``POST /`` with the bytes one
StartSyncExecution of W1 returned) run as subprocesses at the same time on two free ports. wrk
(``make bench`` installs Debian's package) sends the same StartSyncExecution request to each, with
the same threads, connections and duration, alternating served and bare for ROUNDS rounds.

Before any load, one StartSyncExecution on a fresh connection per worker is checked against W1's
expected output, and the bare server's answer against the served bytes. During the load, every
response must be a 2xx (wrk's status-error count is 0). Nothing asserts on rates.

extra_info: requests/s (median of the rounds), p50/p90/p99 latency (ms), served/bare, and for 2
workers the served rate over the 1-worker one. The machine the suite runs on has 2 cores: wrk (1
thread) competes with the server processes for them, so the 2-worker figures are a lower bound.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
from _service import (
    BARE_SERVER,
    call,
    ensure_machine,
    expressway_cmd,
    free_port,
    median,
    run_wrk,
    server,
    write_wrk_script,
    wrk_path,
)
from _support import QUICK, load, matches

WORKLOAD = "w1-pass-chain"
WORKERS = (1, 2)
THREADS = 1  # 2 cores: wrk's one thread and the workers share them
CONNECTIONS = 32
DURATION_S = 1 if QUICK else 5
ROUNDS = 1 if QUICK else 3
WARMUP_S = 0 if QUICK else 2

_served_rate: dict[int, float] = {}


def _check_execution(workload, status: int, body: bytes) -> dict:
    assert status == 200, (status, body)
    answer = json.loads(body)
    assert answer["status"] == "SUCCEEDED", answer
    assert matches(workload.expected, json.loads(answer["output"])), answer["output"]
    return answer


@pytest.mark.parametrize("workers", WORKERS)
def test_start_sync_w1(benchmark, workers, tmp_path):
    workload = load(WORKLOAD)
    served_port, bare_port = free_port(), free_port()
    serve_cmd = expressway_cmd("serve", "--port", str(served_port), "--workers", str(workers))
    with server(serve_cmd, served_port, workers=workers) as _served:
        arn = ensure_machine(served_port, workers, "bench-w1", workload.definition_json)
        start = {"stateMachineArn": arn, "input": json.dumps(workload.input, separators=(",", ":"))}
        request_body = json.dumps(start, separators=(",", ":")).encode()
        # One per fresh connection, several per worker: every worker has the machine and runs W1 right.
        for _ in range(8 * workers):
            status, body = call(served_port, "StartSyncExecution", start)
            _check_execution(workload, status, body)
        body_file = tmp_path / "response.json"
        body_file.write_bytes(body)

        bare_cmd = [
            sys.executable,
            str(BARE_SERVER),
            "--port",
            str(bare_port),
            "--workers",
            str(workers),
            "--body-file",
            str(body_file),
        ]
        with server(bare_cmd, bare_port, workers=workers, ready_line="ready") as _bare:
            bare_status, bare_body = call(bare_port, "StartSyncExecution", start)
            assert (bare_status, bare_body) == (200, body)

            if wrk_path() is None:
                pytest.skip("wrk is not installed (make bench installs it): output checked, no load runs")
            script = write_wrk_script(tmp_path / "start_sync.lua", "StartSyncExecution", request_body)
            ports = {"served": served_port, "bare": bare_port}
            runs: dict[str, list[dict]] = {"served": [], "bare": []}

            load_before = os.getloadavg()[0]

            def load_runs() -> None:
                for port in ports.values():
                    if WARMUP_S:
                        run_wrk(port, script, connections=CONNECTIONS, threads=THREADS, duration_s=WARMUP_S)
                for _ in range(ROUNDS):
                    for which, port in ports.items():
                        result = run_wrk(
                            port, script, connections=CONNECTIONS, threads=THREADS, duration_s=DURATION_S
                        )
                        runs[which].append(result)

            benchmark.group = f"service {WORKLOAD} StartSyncExecution"
            benchmark.pedantic(load_runs, rounds=1, iterations=1)

        # Still right after the load.
        status, body = call(served_port, "StartSyncExecution", start)
        _check_execution(workload, status, body)

    for which, results in runs.items():
        for result in results:
            assert result["errors"]["status"] == 0, (which, result)

    info: dict = {
        "service": WORKLOAD,
        "action": "StartSyncExecution",
        "workers": workers,
        "wrk": {"threads": THREADS, "connections": CONNECTIONS, "duration_s": DURATION_S, "rounds": ROUNDS},
        # The machine is shared with wrk, and maybe with other work: a high load average taints the figures.
        "cpus": os.cpu_count(),
        "loadavg_1min_before": load_before,
        "loadavg_1min_after": os.getloadavg()[0],
    }
    for which, results in runs.items():
        info[f"{which}_requests_per_s"] = median([r["requests_per_s"] for r in results])
        for p in ("p50", "p90", "p99"):
            info[f"{which}_{p}_ms"] = median([r["latency_ms"][p] for r in results])
        info[f"{which}_socket_errors"] = sum(
            sum(v for k, v in r["errors"].items() if k != "status") for r in results
        )
        info[f"{which}_rounds_requests_per_s"] = [r["requests_per_s"] for r in results]
    info["served_vs_bare"] = info["served_requests_per_s"] / info["bare_requests_per_s"]
    _served_rate[workers] = info["served_requests_per_s"]
    if workers != 1 and 1 in _served_rate:
        info["served_vs_1_worker"] = info["served_requests_per_s"] / _served_rate[1]
    benchmark.extra_info.update(info)
