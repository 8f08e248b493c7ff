"""Sustained load within the Express limit (issue 5): StartSyncExecution at a steady rate for 60 s.

``expressway serve --workers 1`` runs as a subprocess on a free port with one EXPRESS machine per
workload that needs no task handler (W1, W2, W3, W5). An asyncio client in the pytest process
(aiohttp, uvloop, CONNECTIONS = 8 connections, EXPRESSWAY_BENCH_SUSTAINED_CONNECTIONS) sends
StartSyncExecution open-loop: request i at t0 + i/rate, a fixed schedule, the four workloads in
turn. The run lasts DURATION_S: 60 s, 3 s with EXPRESSWAY_BENCH_QUICK=1,
EXPRESSWAY_BENCH_SUSTAINED_S overrides.

The rate: EXPRESSWAY_BENCH_SUSTAINED_RATE (requests/s) when set; otherwise FRACTION (0.6,
EXPRESSWAY_BENCH_SUSTAINED_FRACTION) of the capacity measured just before, back-to-back with the same
client and mix (CONNECTIONS clients in a closed loop; the median of CAPACITY_WINDOWS 1-s windows).
Client and server share the machine's 2 cores, so the capacity is that of the pair, and so is the
rate. Then WARMUP_S at the chosen rate, and the measured run.

Per request: the client latency from the scheduled send time (a send delayed by busy senders counts)
and from the actual send, and the execution duration the response reports (stopDate - startDate;
the service's startDate is truncated to whole milliseconds, so a duration reads up to 1 ms long: the
sub-millisecond figures say little, the max against the limit is what counts).
The server's RSS (VmRSS, /proc) is sampled when the run starts (after the warm-up) and every
SAMPLE_S; its CPU time too.

Asserted: every response is a 200, SUCCEEDED, with the workload's expected output, and every
scheduled request was answered. Reported only (extra_info, report.py): target rate, throughput,
p50/p99/max execution duration and latency, max duration / the 300 s Express limit, RSS at start
and end, its max and slope, the server's CPU use, the load average before and after.
"""

from __future__ import annotations

import json
import os

from _service import call, ensure_machine, expressway_cmd, free_port, median, server
from _support import QUICK, load, matches
from _sustained import (
    EXPRESS_LIMIT_S,
    RssSampler,
    Target,
    closed_loop,
    cpu_seconds,
    open_loop,
    run_async,
    slope,
    summary_ms,
)

WORKLOADS = ("w1-pass-chain", "w2-choice-loop", "w3-map-100", "w5-parallel-3")  # no task handlers
WORKERS = 1
DURATION_S = float(os.environ.get("EXPRESSWAY_BENCH_SUSTAINED_S") or (3 if QUICK else 60))
RATE = float(os.environ.get("EXPRESSWAY_BENCH_SUSTAINED_RATE") or 0)  # 0: FRACTION of the capacity
FRACTION = float(os.environ.get("EXPRESSWAY_BENCH_SUSTAINED_FRACTION") or 0.6)
CONNECTIONS = int(os.environ.get("EXPRESSWAY_BENCH_SUSTAINED_CONNECTIONS") or 8)
CAPACITY_WINDOWS = 1 if QUICK else 5  # of 1 s each
WARMUP_S = 0.5 if QUICK else 3.0
SAMPLE_S = 0.5 if QUICK else 5.0
KEPT_SCHEDULE_LAG_S = 0.1


def _check(workload, status: int, body: bytes) -> None:
    assert status == 200, (status, body)
    answer = json.loads(body)
    assert answer["status"] == "SUCCEEDED", answer
    assert matches(workload.expected, json.loads(answer["output"])), answer["output"]


def test_sustained_start_sync(benchmark):
    workloads = [load(name) for name in WORKLOADS]
    port = free_port()
    cmd = expressway_cmd("serve", "--port", str(port), "--workers", str(WORKERS))
    with server(cmd, port, workers=WORKERS) as process:
        targets, starts = [], []
        for workload in workloads:
            arn = ensure_machine(port, WORKERS, f"sustained-{workload.name}", workload.definition_json)
            start = {"stateMachineArn": arn, "input": json.dumps(workload.input, separators=(",", ":"))}
            _check(workload, *call(port, "StartSyncExecution", start))
            starts.append((workload, start))
            targets.append(Target(workload, json.dumps(start, separators=(",", ":")).encode()))

        capacity, windows = None, []
        rate = RATE
        if not rate:  # the median of 1-s windows: one window can fall on a burst of other work
            windows = [
                run_async(closed_loop(port, targets, duration_s=1.0, concurrency=CONNECTIONS))
                for _ in range(CAPACITY_WINDOWS)
            ]
            capacity = median(windows)
            rate = FRACTION * capacity
        warmup = run_async(open_loop(port, targets, rate=rate, duration_s=WARMUP_S, connections=CONNECTIONS))
        assert warmup.errors == 0, warmup.error_samples

        sampler = RssSampler(process.pid, SAMPLE_S)
        figures: dict = {}

        async def measured():
            figures["cpu_before"] = cpu_seconds(process.pid)
            sampler.start()
            results = await open_loop(
                port, targets, rate=rate, duration_s=DURATION_S, connections=CONNECTIONS
            )
            await sampler.stop()
            figures["cpu_after"] = cpu_seconds(process.pid)
            return results

        load_before = os.getloadavg()
        benchmark.group = "sustained"
        results = benchmark.pedantic(lambda: run_async(measured()), rounds=1, iterations=1)
        load_after = os.getloadavg()

        # Still right after the load.
        for workload, start in starts:
            _check(workload, *call(port, "StartSyncExecution", start))

    assert results.errors == 0, (results.errors, results.error_samples)
    assert results.completed == results.scheduled, (results.completed, results.scheduled)

    elapsed = results.last_response - results.first_send
    durations = summary_ms(results.durations)
    rss = [b for _, b in sampler.samples]
    rss_slope = slope(sampler.samples)
    cpu = (
        figures["cpu_after"] - figures["cpu_before"]
        if figures.get("cpu_after") is not None and figures.get("cpu_before") is not None
        else None
    )
    info: dict = {
        "sustained": "StartSyncExecution " + " ".join(w.split("-")[0].upper() for w in WORKLOADS),
        "workloads": list(WORKLOADS),
        "workers": WORKERS,
        "connections": CONNECTIONS,
        "duration_s": DURATION_S,
        "capacity_requests_per_s": capacity,
        "capacity_windows_per_s": windows,
        "rate_fraction_of_capacity": FRACTION if capacity else None,
        "target_rate_per_s": rate,
        "requests": results.scheduled,
        "completed": results.completed,
        "errors": results.errors,
        "elapsed_s": elapsed,
        "throughput_per_s": results.completed / elapsed if elapsed > 0 else None,
        "send_lag_max_ms": results.send_lag_max * 1e3,
        # False: the senders fell behind the schedule (client or server short of CPU), so the run was
        # not at the target rate throughout and the latencies hold the backlog.
        "kept_schedule": results.send_lag_max < KEPT_SCHEDULE_LAG_S,
        **{f"duration_{k}": v for k, v in durations.items()},
        **{f"latency_{k}": v for k, v in summary_ms(results.latencies).items()},
        **{f"service_time_{k}": v for k, v in summary_ms(results.service_times).items()},
        "duration_by_workload_ms": {name: summary_ms(d) for name, d in results.by_workload.items()},
        "express_limit_s": EXPRESS_LIMIT_S,
        "max_duration_vs_limit": (durations["max_ms"] or 0) / 1e3 / EXPRESS_LIMIT_S,
        "rss_start_bytes": rss[0] if rss else None,
        "rss_end_bytes": rss[-1] if rss else None,
        "rss_max_bytes": max(rss) if rss else None,
        "rss_slope_bytes_per_min": rss_slope * 60 if rss_slope is not None else None,
        "rss_samples": [(round(t, 2), b) for t, b in sampler.samples],
        "rss_sample_s": SAMPLE_S,
        "server_cpu_s": cpu,
        "server_cpu_utilisation": cpu / elapsed if cpu is not None and elapsed > 0 else None,
        # The machine is shared by client, server and maybe other work: a high load taints the figures.
        "cpus": os.cpu_count(),
        "loadavg_before": list(load_before),
        "loadavg_after": list(load_after),
    }
    benchmark.extra_info.update(info)
