"""The bare baseline of ``bench_service.py``: an aiohttp app that answers ``POST /`` with fixed bytes.

    python benches/_bare_server.py --port N --workers N --body-file FILE

It runs on the same stack as ``expressway serve``: the same aiohttp and uvloop, ``web.run_app`` with
the access log off, and with several workers, that many processes (multiprocessing "spawn") sharing
the port with SO_REUSEPORT under a parent that waits for them. The handler reads the request body and
answers with the bytes of FILE and the same headers the service sends (Content-Type and an
``x-amzn-RequestId`` of the same length, fixed here). It prints ``ready`` once every worker listens.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import signal
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"
CONTENT_TYPE = "application/x-amz-json-1.0"
REQUEST_ID = "00000000-0000-4000-8000-000000000000"


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_worker(port: int, reuse_port: bool, body: bytes, ready=None) -> None:
    from aiohttp import web

    headers = {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": REQUEST_ID}

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=body, headers=headers)

    app = web.Application()
    app.router.add_post("/", handle)
    loop = _new_loop()
    asyncio.set_event_loop(loop)

    def banner(_: str) -> None:
        if ready is not None:
            ready.put(True)
        else:
            print("ready", flush=True)

    web.run_app(
        app,
        host=HOST,
        port=port,
        reuse_port=reuse_port,
        access_log=None,
        print=banner,
        loop=loop,
        handle_signals=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--body-file", required=True)
    args = parser.parse_args()
    body = Path(args.body_file).read_bytes()
    if args.workers == 1:
        run_worker(args.port, False, body)
        return 0

    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    workers = [
        context.Process(target=run_worker, args=(args.port, True, body, ready), name=f"bare-worker-{i}")
        for i in range(args.workers)
    ]
    stopping = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    for process in workers:
        process.start()
    for _ in workers:
        ready.get(timeout=60)
    print("ready", flush=True)
    while not stopping and all(p.is_alive() for p in workers):
        time.sleep(0.2)
    for process in workers:
        if process.is_alive():
            process.terminate()
    for process in workers:
        process.join(10)
        if process.is_alive():
            process.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
