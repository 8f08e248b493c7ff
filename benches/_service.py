"""Helpers of ``bench_service.py``: server subprocesses, raw AWS JSON 1.0 calls, and wrk runs."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
TARGET_PREFIX = "AWSStepFunctions."
CONTENT_TYPE = "application/x-amz-json-1.0"
ROLE_ARN = "arn:aws:iam::123456789012:role/bench"
BARE_SERVER = Path(__file__).with_name("_bare_server.py")


def wrk_path() -> str | None:
    return shutil.which("wrk")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def expressway_cmd(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("expressway")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "expressway", *args]


def call(port: int, action: str, payload: dict[str, Any]) -> tuple[int, bytes]:
    """One request on a fresh connection (with several workers, SO_REUSEPORT picks one per connection)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(
            "POST",
            "/",
            body=json.dumps(payload).encode(),
            headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET_PREFIX + action},
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def listening_sockets(port: int) -> int | None:
    """How many sockets listen on 127.0.0.1:port (one per SO_REUSEPORT worker); None off Linux."""
    try:
        table = Path("/proc/net/tcp").read_text()
    except OSError:
        return None
    local = f"0100007F:{port:04X}"
    rows = (line.split() for line in table.splitlines()[1:])
    return sum(1 for row in rows if row[1] == local and row[3] == "0A")  # 0A: LISTEN


def _wait_listening(port: int, process: subprocess.Popen, sockets: int, timeout: float = 60.0) -> None:
    """Until ``sockets`` sockets listen on port (every worker is up), or one connection succeeds where
    /proc/net/tcp cannot tell."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {process.args}")
        count = listening_sockets(port)
        if count is not None and count >= sockets:
            return
        if count is None:
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
                return
        time.sleep(0.05)
    raise RuntimeError(f"not {sockets} sockets listening on {port} after {timeout} s: {process.args}")


@contextlib.contextmanager
def server(
    cmd: list[str], port: int, *, workers: int = 1, ready_line: str | None = None
) -> Iterator[subprocess.Popen]:
    """Runs cmd in a session of its own until every worker listens on port, then the block; then
    SIGTERM, and SIGKILL to its group (its workers too) when it has not stopped within 15 s."""
    process = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE if ready_line else subprocess.DEVNULL,
        stderr=None,
        start_new_session=True,
        text=True,
    )
    try:
        if ready_line:
            assert process.stdout is not None
            for line in process.stdout:
                if line.strip() == ready_line:
                    break
            else:
                raise RuntimeError(f"server exited with {process.wait()} before {ready_line!r}: {cmd}")
        _wait_listening(port, process, workers)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def ensure_machine(port: int, workers: int, name: str, definition: str) -> str:
    """Creates the EXPRESS machine so that every worker has it, and returns its ARN.

    Workers share machines when the service does that (one CreateStateMachine is enough); when each
    worker has a store of its own, it takes one call per worker. Both are covered by sending
    CreateStateMachine on fresh connections, which SO_REUSEPORT spreads over the (all listening)
    workers: identical arguments are idempotent (the existing machine's ARN and creationDate), a
    worker without the machine creates its own (a new creationDate). The loop ends when ``workers``
    dates were seen, or 32 calls in a row brought no new one.
    """
    request = {"name": name, "definition": definition, "roleArn": ROLE_ARN, "type": "EXPRESS"}
    dates: set[float] = set()
    arn = None
    since_new = 0
    while len(dates) < workers and since_new < 32:
        status, body = call(port, "CreateStateMachine", request)
        assert status == 200, (status, body)
        answer = json.loads(body)
        arn = answer["stateMachineArn"]
        since_new = 0 if answer["creationDate"] not in dates else since_new + 1
        dates.add(answer["creationDate"])
    assert arn is not None
    return arn


_COUNTS = ("requests", "duration_us", "bytes", "connect", "read", "write", "status", "timeout")
_LATENCIES = ("mean", "max", "p50", "p90", "p99", "p999")  # microseconds
_STATS = _COUNTS + _LATENCIES

_LUA = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "{content_type}"
wrk.headers["X-Amz-Target"] = "{target}"
wrk.body = [{eq}[{body}]{eq}]

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRKSTATS %d %d %d %d %d %d %d %d %.1f %d %d %d %d %d\\n",
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
"""


def write_wrk_script(path: Path, action: str, body: bytes) -> Path:
    """A wrk script that POSTs body as the given action and prints its figures on a WRKSTATS line."""
    text = body.decode()
    eq = "="
    while f"]{eq}]" in text:
        eq += "="
    script = _LUA.format(content_type=CONTENT_TYPE, target=TARGET_PREFIX + action, eq=eq, body=text)
    path.write_text(script, encoding="utf-8")
    return path


def run_wrk(port: int, script: Path, *, connections: int, threads: int, duration_s: float) -> dict[str, Any]:
    """One wrk run; requests/s, latency percentiles (ms) and error counts."""
    wrk = wrk_path()
    assert wrk is not None
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        f"http://{HOST}:{port}/",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration_s + 60).stdout
    match = re.search(r"^WRKSTATS (.*)$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no WRKSTATS line in wrk's output:\n{out}")
    raw = dict(zip(_STATS, map(float, match.group(1).split()), strict=True))
    return {
        "requests": int(raw["requests"]),
        "requests_per_s": raw["requests"] / (raw["duration_us"] / 1e6),
        "errors": {k: int(raw[k]) for k in ("connect", "read", "write", "status", "timeout")},
        "latency_ms": {k: raw[k] / 1e3 for k in _LATENCIES},
    }


def median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
