"""Executions across worker processes.

With several workers, an execution lives in the worker that started it, but a client's next request
may reach any worker. Each worker therefore also listens on a Unix socket of its own (beside the
shared state machines' files), and a worker that does not hold an execution asks its siblings there:
an execution-scoped request is passed on as it came, and ListExecutions gathers every worker's list.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import orjson
from aiohttp import ClientError, ClientSession, ClientTimeout, UnixConnector, web

__all__ = ["NOT_HERE", "Peers", "peer_app", "socket_path"]

FORWARD_PATH = "/forward"
EXECUTIONS_PATH = "/executions"
_TIMEOUT = ClientTimeout(total=30.0)
NOT_HERE = frozenset(("ExecutionDoesNotExist", "TaskDoesNotExist", "TaskTimedOut"))
"""Errors that mean "not this worker's": a sibling may hold the execution or task token."""
_NOT_HERE_BYTES = tuple(name.encode() for name in NOT_HERE)


def socket_path(directory: str | Path, index: int) -> Path:
    return Path(directory) / f"worker-{index}.sock"


class Peers:
    """The sibling workers' sockets, asked in turn."""

    def __init__(self, sockets: list[Path]) -> None:
        self.sockets = sockets
        self._sessions: dict[Path, ClientSession] = {}

    def _session(self, path: Path) -> ClientSession:
        session = self._sessions.get(path)
        if session is None or session.closed:
            session = ClientSession(connector=UnixConnector(path=str(path)), timeout=_TIMEOUT)
            self._sessions[path] = session
        return session

    async def _post(self, path: Path, route: str, body: bytes, target: str = "") -> tuple[int, bytes] | None:
        try:
            async with self._session(path).post(
                f"http://worker{route}", data=body, headers={"X-Amz-Target": target}
            ) as response:
                return response.status, await response.read()
        except (TimeoutError, ClientError, OSError):
            return None  # that worker is restarting or gone: it holds nothing now

    async def find(self, target: str, body: bytes) -> tuple[int, bytes] | None:
        """The first sibling's answer that is not a "not here" error, or None."""
        for path in self.sockets:
            answer = await self._post(path, FORWARD_PATH, body, target)
            if answer is None:
                continue
            status, payload = answer
            if status == 200 or not any(name in payload[:64] for name in _NOT_HERE_BYTES):
                return answer
        return None

    async def describe(self, execution_arn: str) -> dict[str, Any] | None:
        """A sibling's DescribeExecution answer for an execution, or None when none holds it."""
        body = orjson.dumps({"executionArn": execution_arn})
        found = await self.find("AWSStepFunctions.DescribeExecution", body)
        if found is None or found[0] != 200:
            return None
        answer: dict[str, Any] = orjson.loads(found[1])
        return answer

    async def executions(self, machine_arn: str, status: str | None) -> list[dict[str, Any]]:
        """Every sibling's ListExecutions items for a machine."""
        body = orjson.dumps({"stateMachineArn": machine_arn, "statusFilter": status})
        answers = await asyncio.gather(*(self._post(p, EXECUTIONS_PATH, body) for p in self.sockets))
        items: list[dict[str, Any]] = []
        for answer in answers:
            if answer is not None and answer[0] == 200:
                items.extend(orjson.loads(answer[1]))
        return items

    async def close(self) -> None:
        for session in self._sessions.values():
            with contextlib.suppress(Exception):
                await session.close()
        self._sessions.clear()


def peer_app(handle_local: Any, list_local: Any) -> web.Application:
    """The worker's Unix-socket side: ``handle_local(target, body)`` answers a passed-on request from
    this worker's own store only; ``list_local(machine_arn, status)`` lists its executions."""

    async def forward(request: web.Request) -> web.Response:
        status, body = await handle_local(request.headers.get("X-Amz-Target", ""), await request.read())
        return web.Response(body=body, status=status)

    async def executions(request: web.Request) -> web.Response:
        query = orjson.loads(await request.read())
        items = list_local(query["stateMachineArn"], query.get("statusFilter"))
        return web.Response(body=orjson.dumps(items))

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post(FORWARD_PATH, forward)
    app.router.add_post(EXECUTIONS_PATH, executions)
    return app
