"""Run N executions that all wait in a Task at once; print RSS figures as JSON (a child process of
bench_memory.py, so that the measurement starts from a clean interpreter)."""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time

import expressway

DEFINITION = {
    "StartAt": "Wait for it",
    "States": {
        "Wait for it": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:hold",
            "ResultPath": "$.held",
            "End": True,
        }
    },
}


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def main(n: int) -> dict:
    sm = expressway.StateMachine(DEFINITION)
    release = asyncio.Event()
    waiting = 0
    all_waiting = asyncio.Event()

    async def hold(event):
        nonlocal waiting
        waiting += 1
        if waiting == n:
            all_waiting.set()
        await release.wait()
        return event["i"]

    tasks = {"hold": hold}
    # Warm up (imports, caches, the loop's own structures) before the baseline.
    await asyncio.gather(*(sm.execute({"i": -1}, tasks={"hold": _instant}) for _ in range(100)))
    gc.collect()
    before = rss_bytes()
    t0 = time.perf_counter()
    runs = [asyncio.ensure_future(sm.execute({"i": i}, tasks=tasks)) for i in range(n)]
    await all_waiting.wait()
    started_s = time.perf_counter() - t0
    in_flight = rss_bytes()
    release.set()
    results = await asyncio.gather(*runs)
    total_s = time.perf_counter() - t0
    ok = sum(r.status == "SUCCEEDED" and r.output["held"] == i for i, r in enumerate(results))
    return {
        "n": n,
        "succeeded": ok,
        "rss_before_bytes": before,
        "rss_in_flight_bytes": in_flight,
        "bytes_per_execution": (in_flight - before) / n,
        "start_all_s": started_s,
        "total_s": total_s,
    }


async def _instant(event):
    return event["i"]


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(int(sys.argv[1])))))
