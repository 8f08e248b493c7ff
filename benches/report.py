"""Print a short table from a pytest-benchmark JSON report (what ``make bench`` writes).

    python benches/report.py .benchmarks/report.json

Workload rows: executions/s and transitions/s for expressway (serial and 16 at once, and the Rust core
alone) and moto, and the ratio expressway/moto (serial). Then JSONata (evaluations/s and the ratios to
jsonata-python and jsonatapy), the service under wrk (StartSyncExecution requests/s served
and by a bare aiohttp handler, their ratio, p50/p99 latency, and N workers over 1). Then the sustained
load (rate, throughput, execution durations against the Express limit, RSS), cold start, memory and any
other benchmark by its mean.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def _rate(bench: dict) -> float | None:
    info, mean = bench.get("extra_info", {}), bench["stats"]["mean"]
    per_round = info.get("executions_per_round")
    return per_round / mean if per_round and mean > 0 else None


def _fmt(x: float | None, digits: int = 0) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def _table(lines: list[tuple]) -> None:
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(lines[0]))]
    for n, line in enumerate(lines):
        print(
            "  ".join(
                str(c).ljust(w) if i == 0 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def _jsonata_table(infos: list[dict]) -> None:
    """bench_jsonata.py: expressway's evaluations/s per expression and how many times the baselines' rate."""
    lines: list[tuple] = [
        ("jsonata expression", "evals/s", "x jsonata-python", "x jsonatapy", "x jsonatapy same time limit")
    ]
    for info in infos:
        lines.append(
            (
                info["expression"],
                _fmt(info["evaluations_per_second"]),
                _fmt(info.get("x_jsonata_python"), 2),
                _fmt(info.get("x_jsonatapy"), 2),
                _fmt(info.get("x_jsonatapy_bounded"), 2),
            )
        )
    print()
    _table(lines)


def _service_table(benches: list[dict]) -> None:
    """bench_service.py: one row per workload and worker count."""
    infos = sorted((b["extra_info"] for b in benches), key=lambda i: (i["service"], i["workers"]))
    one = {i["service"]: i["served_requests_per_s"] for i in infos if i["workers"] == 1}
    header = ("service", "workers", "req/s", "bare req/s", "vs bare", "p50 ms", "p99 ms", "bare p99 ms")
    header += ("vs 1 worker",)
    lines: list[tuple] = [header]
    for info in infos:
        base = one.get(info["service"])
        lines.append(
            (
                f"{info['service']} {info.get('action', '')}".strip(),
                info["workers"],
                _fmt(info["served_requests_per_s"]),
                _fmt(info["bare_requests_per_s"]),
                f"{info['served_vs_bare']:.2f}",
                _fmt(info["served_p50_ms"], 2),
                _fmt(info["served_p99_ms"], 2),
                _fmt(info["bare_p99_ms"], 2),
                f"{info['served_requests_per_s'] / base:.2f}" if base else "-",
            )
        )
    print()
    _table(lines)
    wrk = infos[0].get("wrk", {})
    print(
        f"(wrk: {wrk.get('threads')} thread, {wrk.get('connections')} connections,"
        f" {wrk.get('rounds')} x {wrk.get('duration_s')} s each, medians; wrk shares the machine's cores"
        " with the server processes)"
    )


def _sustained_lines(bench: dict) -> None:
    """bench_sustained.py: rate, throughput, durations against the Express limit, RSS over the run."""
    i = bench["extra_info"]
    mib = 2**20
    capacity = i.get("capacity_requests_per_s")
    chosen = f" ({i['rate_fraction_of_capacity']} x capacity {_fmt(capacity)}/s)" if capacity else " (set)"
    slope = i.get("rss_slope_bytes_per_min")
    print()
    print(
        f"sustained {i['sustained']}, {i['workers']} worker, {i['duration_s']:g} s open loop:"
        f" target {_fmt(i['target_rate_per_s'])}/s{chosen}, achieved {_fmt(i['throughput_per_s'])}/s,"
        f" {i['completed']:,} executions, {i['errors']} errors"
    )
    if not i.get("kept_schedule", True):
        print(
            f"  (the client fell behind the schedule, by up to {i['send_lag_max_ms'] / 1e3:.1f} s:"
            " the machine was short of CPU, the rate was not held and the latencies hold the backlog)"
        )
    print(
        f"  execution duration p50/p99/max {i['duration_p50_ms']:.2f}/{i['duration_p99_ms']:.2f}"
        f"/{i['duration_max_ms']:.2f} ms (max = {i['max_duration_vs_limit']:.1e} of the"
        f" {i['express_limit_s']:g} s Express limit)"
    )
    print(
        f"  client latency from the scheduled send p50/p99/max {i['latency_p50_ms']:.2f}"
        f"/{i['latency_p99_ms']:.2f}/{i['latency_max_ms']:.2f} ms, from the actual send"
        f" {i['service_time_p50_ms']:.2f}/{i['service_time_p99_ms']:.2f}/{i['service_time_max_ms']:.2f} ms;"
        f" sends at most {i['send_lag_max_ms']:.1f} ms late"
    )
    if i.get("rss_start_bytes") is not None:
        print(
            f"  server RSS start {i['rss_start_bytes'] / mib:.1f} MiB,"
            f" end {i['rss_end_bytes'] / mib:.1f} MiB, max {i['rss_max_bytes'] / mib:.1f} MiB, slope"
            f" {'-' if slope is None else f'{slope / mib:+.2f}'} MiB/min; 1-min load average"
            f" {i['loadavg_before'][0]:.2f} -> {i['loadavg_after'][0]:.2f} on {i['cpus']} CPUs"
        )


def _states_table(infos: list[dict]) -> None:
    """bench_jsonata.py's state machines: the same fields in JSONata and in JSONPath."""
    lines: list[tuple] = [("state machine", "language", "exec/s", "transitions/s", "x JSONPath")]
    for info in infos:
        lines.append(
            (
                info["state_machine"],
                info["language"],
                _fmt(info["executions_per_second"]),
                _fmt(info["transitions_per_second"]),
                _fmt(info.get("x_jsonpath"), 2),
            )
        )
    print()
    _table(lines)


def main(path: str) -> None:
    with open(path) as f:
        report = json.load(f)
    rows: dict[str, dict[str, dict]] = defaultdict(dict)
    others = []
    service = []
    sustained = []
    jsonata = []
    states = []
    for bench in report["benchmarks"]:
        info = bench.get("extra_info", {})
        if info.get("library") == "expressway" and "expression" in info:
            jsonata.append(info)
        elif info.get("library") and "expression" in info:
            continue  # a JSONata baseline: its figures are in expressway's ratios
        elif "state_machine" in info and "language" in info:
            states.append(info)
        elif "sustained" in info and "target_rate_per_s" in info:
            sustained.append(bench)
        elif "service" in info and "served_requests_per_s" in info:
            service.append(bench)
        elif "workload" in info and "executor" in info:
            rows[info["workload"]][f"{info['executor']}:{info['mode']}"] = bench
        else:
            others.append(bench)

    header = ("workload", "exec/s", "transitions/s", "exec/s x16", "core exec/s", "moto exec/s", "vs moto")
    lines: list[tuple] = [header]
    for workload in sorted(rows):
        by = rows[workload]
        serial, conc = by.get("expressway:serial"), by.get("expressway:concurrent16")
        core = by.get("expressway-core:core-only")
        moto = by.get("moto:serial")
        rate = _rate(serial) if serial else None
        trans = serial["extra_info"]["transitions_per_execution"] if serial else None
        moto_rate = _rate(moto) if moto else None
        ratio = rate / moto_rate if rate and moto_rate else None
        moto_note = "" if not moto or moto["extra_info"].get("output_matches", True) else " (output differs)"
        lines.append(
            (
                workload,
                _fmt(rate),
                _fmt(rate * trans if rate and trans else None),
                _fmt(_rate(conc) if conc else None),
                _fmt(_rate(core) if core else None),
                _fmt(moto_rate, 1) + moto_note,
                (_fmt(ratio) + "x") if ratio else "-",
            )
        )
    if rows:
        _table(lines)
    if jsonata:
        _jsonata_table(jsonata)
    if states:
        _states_table(states)
    if service:
        _service_table(service)
    for bench in sustained:
        _sustained_lines(bench)

    if others:
        print()
    for bench in others:
        info = bench.get("extra_info", {})
        extra = ""
        if "peak_rss_bytes" in info:
            extra = (
                f"  command alone: median {info['wall_median_s'] * 1e3:.1f} ms,"
                f" min {info['wall_min_s'] * 1e3:.1f} ms, peak RSS {info['peak_rss_bytes'] / 2**20:.1f} MiB"
            )
        if "bytes_per_execution" in info:
            extra = (
                f"  {info['n']:,} in flight: RSS {info['rss_in_flight_bytes'] / 2**20:.1f} MiB,"
                f" {info['bytes_per_execution']:,.0f} bytes/execution"
            )
        print(f"{bench['fullname'].split('::')[-1]}: mean {bench['stats']['mean'] * 1e3:,.1f} ms{extra}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".benchmarks/report.json")
