"""Shared by the service's acceptance tests: a fresh ``Service`` behind a real aiohttp server on an
ephemeral port (its event loop in a background thread), boto3 ``stepfunctions`` clients pointed at it,
raw HTTP for requests the SDKs never send, and small definitions."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.config
from aiohttp import web

from expressway.service import Service, ServiceOptions, make_app
from expressway.service.app import DRAIN_KEY

ROLE = "arn:aws:iam::123456789012:role/test"
REGION = "us-east-1"

PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
PASS_SUCCEED = json.dumps(
    {
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "Next": "S"}, "S": {"Type": "Succeed"}},
    }
)
FAIL = json.dumps({"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "it broke"}}})


def task_definition(resource: str) -> str:
    return json.dumps({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}})


@dataclass
class Server:
    """A running service: its ``Service``, port and event loop (the loop runs in another thread)."""

    service: Service
    port: int
    loop: asyncio.AbstractEventLoop
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}"

    def call(self, fn: Callable[[], Any]) -> Any:
        """Runs ``fn`` on the server's loop (to touch the service's state safely)."""

        async def run() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=10)

    def raw(
        self,
        body: bytes | None = b"{}",
        target: str | None = "AWSStepFunctions.ListStateMachines",
        method: str = "POST",
        path: str = "/",
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, Any] | None, bytes]:
        """One raw HTTP request: (status, the JSON body if it is JSON, the raw body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            sent = {"Content-Type": "application/x-amz-json-1.0"}
            if target is not None:
                sent["X-Amz-Target"] = target
            sent.update(headers or {})
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
        return response.status, parsed, data


def start_server(
    tasks: Mapping[str, Any] | None = None,
    options: ServiceOptions | None = None,
    max_body: int | None = None,
) -> tuple[Server, Callable[[], None]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="expressway-test-server", daemon=True)
    thread.start()
    service_box: dict[str, Any] = {}

    async def setup() -> tuple[web.AppRunner, int]:
        service = Service(tasks=tasks, options=options)
        service_box["service"] = service
        app = make_app(service, max_body) if max_body is not None else make_app(service)
        app[DRAIN_KEY] = 0.5  # executions still blocked at teardown are cancelled quickly
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        sockets = site._server.sockets if site._server is not None else []  # type: ignore[attr-defined]
        return runner, sockets[0].getsockname()[1]

    runner, port = asyncio.run_coroutine_threadsafe(setup(), loop).result(timeout=10)
    server = Server(service_box["service"], port, loop)

    def stop() -> None:
        try:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()

    return server, stop


# One session: its loader caches the service model, so each client is quick to make.
_SESSION = boto3.session.Session()


def make_client(port: int) -> Any:
    return _SESSION.client(
        "stepfunctions",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=botocore.config.Config(inject_host_prefix=False, retries={"max_attempts": 0}),
    )


BLOCK = "arn:aws:lambda:us-east-1:123456789012:function:Block"


class Blocker:
    """An async handler that waits until cancelled; ``entered`` is set once a call is under way."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.calls = 0

    async def __call__(self, event: Any) -> Any:
        self.calls += 1
        self.entered.set()
        await asyncio.sleep(60)
        return event


def create(sfn: Any, name: str, definition: str = PASS, type: str = "EXPRESS", **extra: Any) -> str:
    """Creates a state machine and returns its ARN."""
    return sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE, type=type, **extra)[
        "stateMachineArn"
    ]
