"""Helpers of ``bench_sustained.py``: an open-loop StartSyncExecution client, RSS/CPU sampling of the
server process, and percentiles.

The client sends request i at ``t0 + i / rate`` (a fixed arrival schedule, not back-to-back) over one
aiohttp session with a small connection pool; a request that finds every connection busy goes out
late, and its lateness counts in its latency, which is measured from the scheduled time (no
coordinated omission) as well as from the send.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import math
import os
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

try:
    import orjson

    loads: Callable[[bytes | str], Any] = orjson.loads
except ImportError:  # orjson is a dependency of expressway, but the client does not need it
    import json

    loads = json.loads

from _service import CONTENT_TYPE, HOST, TARGET_PREFIX
from _support import Workload, matches

EXPRESS_LIMIT_S = 300.0
_HEADERS = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET_PREFIX + "StartSyncExecution"}


def run_async(coro: Coroutine) -> Any:
    """Runs coro on a fresh loop, uvloop's when installed (it is a dependency of the service)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


@dataclass(frozen=True)
class Target:
    """One workload's request body and what its answer must hold."""

    workload: Workload
    body: bytes


@dataclass
class Results:
    """What one run saw: per-request figures (seconds) in send order, and the errors."""

    scheduled: int = 0
    completed: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)  # stopDate - startDate, from the responses
    latencies: list[float] = field(default_factory=list)  # response time - scheduled send time
    service_times: list[float] = field(default_factory=list)  # response time - actual send start
    send_lag_max: float = 0.0  # the scheduler's worst lateness
    by_workload: dict[str, list[float]] = field(default_factory=dict)  # execution durations
    first_send: float = 0.0
    last_response: float = 0.0

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(message[:500])


class Checker:
    """Checks an answer: 200, SUCCEEDED, the expected output. Outputs are checked once per distinct
    output string (the workloads are deterministic), so the check costs the client little."""

    def __init__(self) -> None:
        self._good: dict[str, set[str]] = {}

    def check(self, workload: Workload, status: int, body: bytes) -> tuple[str | None, dict | None]:
        if status != 200:
            return f"{workload.name}: HTTP {status}: {body[:300]!r}", None
        answer = loads(body)
        if answer.get("status") != "SUCCEEDED":
            return f"{workload.name}: {answer.get('status')}: {answer}", None
        output = answer.get("output")
        good = self._good.setdefault(workload.name, set())
        if output not in good:
            if not isinstance(output, str) or not matches(workload.expected, loads(output)):
                return f"{workload.name}: unexpected output {str(output)[:300]}", None
            if len(good) < 64:
                good.add(output)
        return None, answer


async def open_loop(
    port: int,
    targets: list[Target],
    *,
    rate: float,
    duration_s: float,
    connections: int,
    timeout_s: float = 30.0,
) -> Results:
    """Sends ``rate * duration_s`` StartSyncExecution requests, request i at t0 + i/rate, the targets
    in turn (round-robin), and waits for every answer.

    ``connections`` senders, one per connection of the pool, take the next request of the schedule
    in turn and send it at its time, or at once when it is already due (wrk2's design): no task and
    no pool wait per request, so the client costs little more than in a closed loop. A request sent
    late (every sender busy) counts its lateness in its latency, and the worst lateness is reported.
    """
    results = Results()
    checker = Checker()
    url = f"http://{HOST}:{port}/"
    total = max(1, round(rate * duration_s))
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    counter = itertools.count()

    async def sender() -> None:
        while (i := next(counter)) < total:
            due = t0 + i / rate
            now = time.perf_counter()
            if now >= due:
                results.send_lag_max = max(results.send_lag_max, now - due)
            while now < due:  # the loop's timers have whole milliseconds and can fire early
                await asyncio.sleep(due - now)
                now = time.perf_counter()
            target = targets[i % len(targets)]
            sent = time.perf_counter()
            try:
                async with session.post(url, data=target.body, headers=_HEADERS) as response:
                    body = await response.read()
                    status = response.status
            except (TimeoutError, aiohttp.ClientError) as exc:
                results.error(f"{target.workload.name}: {type(exc).__name__}: {exc}")
                continue
            now = time.perf_counter()
            problem, answer = checker.check(target.workload, status, body)
            if problem is not None:
                results.error(problem)
                continue
            assert answer is not None
            duration = answer["stopDate"] - answer["startDate"]
            results.completed += 1
            results.durations.append(duration)
            results.by_workload.setdefault(target.workload.name, []).append(duration)
            results.latencies.append(now - due)
            results.service_times.append(now - sent)
            results.last_response = max(results.last_response, now)

    # The client's old objects (pytest's, the modules') out of the collector's sight: a full
    # collection over them would stall the senders for tens of milliseconds.
    gc.collect()
    gc.freeze()
    try:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            t0 = time.perf_counter() + 0.01
            results.first_send = t0
            await asyncio.gather(*(sender() for _ in range(connections)))
    finally:
        gc.unfreeze()
    results.scheduled = total
    return results


async def closed_loop(port: int, targets: list[Target], *, duration_s: float, concurrency: int) -> float:
    """Back-to-back requests from ``concurrency`` clients for duration_s: the completed requests/s
    (the capacity of server and client together). Answers are checked too."""
    url = f"http://{HOST}:{port}/"
    checker = Checker()
    done = 0
    errors: list[str] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        end = start + duration_s

        async def client(k: int) -> None:
            nonlocal done
            i = k
            while time.perf_counter() < end:
                target = targets[i % len(targets)]
                i += concurrency
                async with session.post(url, data=target.body, headers=_HEADERS) as response:
                    body = await response.read()
                    problem, _ = checker.check(target.workload, response.status, body)
                if problem is not None:
                    errors.append(problem)
                done += 1

        await asyncio.gather(*(client(k) for k in range(concurrency)))
        elapsed = time.perf_counter() - start
    assert not errors, errors[:5]
    return done / elapsed


def _children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def process_tree(pid: int) -> list[int]:
    """pid and its descendants (the server's workers, when it has any)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(_children(p))
    return out


def rss_bytes(pid: int) -> int | None:
    """VmRSS of pid and its descendants, from /proc; None off Linux."""
    total = 0
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            if p == pid:
                return None
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of pid and its descendants, from /proc/<pid>/stat."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for p in process_tree(pid):
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            if p == pid:
                return None
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


class RssSampler:
    """Samples the RSS of a process every ``interval_s`` on the running loop, from start() to stop()."""

    def __init__(self, pid: int, interval_s: float) -> None:
        self.pid = pid
        self.interval_s = interval_s
        self.samples: list[tuple[float, int]] = []  # (seconds since the first sample, bytes)
        self._task: asyncio.Task | None = None
        self._t0 = 0.0

    def sample(self) -> None:
        rss = rss_bytes(self.pid)
        if rss is not None:
            now = time.perf_counter()
            if not self.samples:
                self._t0 = now
            self.samples.append((now - self._t0, rss))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            self.sample()

    def start(self) -> None:
        self.sample()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if not self.samples or time.perf_counter() - self._t0 - self.samples[-1][0] > self.interval_s / 10:
            self.sample()


def slope(points: list[tuple[float, int]]) -> float | None:
    """Least-squares slope of (x, y) points; None with fewer than two distinct x."""
    n = len(points)
    if n < 2:
        return None
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def percentile(ordered: list[float], p: float) -> float | None:
    """The nearest-rank p-th percentile of an already sorted list."""
    if not ordered:
        return None
    k = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
    return ordered[k]


def summary_ms(values: list[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    return {
        "p50_ms": _ms(percentile(ordered, 50)),
        "p99_ms": _ms(percentile(ordered, 99)),
        "max_ms": _ms(ordered[-1] if ordered else None),
    }


def _ms(x: float | None) -> float | None:
    return None if x is None else x * 1e3
