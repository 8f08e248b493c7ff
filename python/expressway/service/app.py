"""The aiohttp application: one ``POST /`` endpoint that routes on ``X-Amz-Target``."""

from __future__ import annotations

import logging

from aiohttp import web

from .._context import new_uuid
from .actions import ACTIONS, Service
from .peers import NOT_HERE
from .protocol import TARGET_PREFIX, ServiceError, decode_body, encode, error_body

__all__ = ["DEFAULT_MAX_BODY", "DRAIN_KEY", "dispatch", "make_app"]

DEFAULT_MAX_BODY = 4 * 1024 * 1024
"""Request bodies up to 4 MiB: a 1 MiB definition escaped as a JSON string fits with room to spare."""

CONTENT_TYPE = "application/x-amz-json-1.0"

log = logging.getLogger("expressway.service")

SERVICE_KEY: web.AppKey[Service] = web.AppKey("service", Service)
MAX_BODY_KEY: web.AppKey[int] = web.AppKey("max_body", int)
DRAIN_KEY: web.AppKey[float] = web.AppKey("drain_seconds", float)


def _answer(body: bytes, status: int = 200) -> web.Response:
    return web.Response(
        body=body,
        status=status,
        headers={"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": new_uuid()},
    )


def _failure(error: ServiceError) -> web.Response:
    return _answer(error_body(error), error.status)


# Actions about one execution or task token: a worker that does not hold it asks its siblings (see
# peers.py), when its own answer is one of peers.NOT_HERE.
_EXECUTION_SCOPED = frozenset(
    (
        "DescribeExecution",
        "StopExecution",
        "GetExecutionHistory",
        "DescribeStateMachineForExecution",
        "SendTaskSuccess",
        "SendTaskFailure",
        "SendTaskHeartbeat",
    )
)


async def dispatch(service: Service, target: str, body: bytes) -> tuple[int, bytes, str | None]:
    """Runs the action named by ``target`` on ``body``: (HTTP status, response body, error name)."""
    action_name = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else None
    action = ACTIONS.get(action_name) if action_name is not None else None
    try:
        if action is None:
            raise ServiceError(
                "UnknownOperationException",
                f"Unknown operation: {target!r}" if target else "The X-Amz-Target header is missing",
            )
        result = await action(service, decode_body(body))
        return 200, encode(result), None
    except ServiceError as error:
        return error.status, error_body(error), error.name
    except Exception:  # a bug of ours: logged with its traceback, answered without one
        log.exception("internal error in %s", action_name)
        error = ServiceError("InternalFailure", "An internal error occurred in expressway", 500)
        return error.status, error_body(error), error.name


async def _handle(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]
    target = request.headers.get("X-Amz-Target", "")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        too_large = ServiceError(
            "ValidationException", f"The request body is larger than {request.app[MAX_BODY_KEY]} bytes", 413
        )
        return _answer(error_body(too_large), too_large.status)
    status, payload, error = await dispatch(service, target, body)
    if error in NOT_HERE and service.peers is not None and target[len(TARGET_PREFIX) :] in _EXECUTION_SCOPED:
        found = await service.peers.find(target, body)
        if found is not None:
            status, payload = found
    return _answer(payload, status)


async def _not_found(request: web.Request) -> web.Response:
    return _failure(
        ServiceError(
            "UnknownOperationException", f"Requests go to POST /, not {request.method} {request.path}", 404
        )
    )


def make_app(service: Service, max_body: int = DEFAULT_MAX_BODY) -> web.Application:
    app = web.Application(client_max_size=max_body)
    app[SERVICE_KEY] = service
    app[MAX_BODY_KEY] = max_body
    app.router.add_post("/", _handle)
    app.router.add_route("*", "/{tail:.*}", _not_found)

    async def _drain(app: web.Application) -> None:
        await app[SERVICE_KEY].drain(app.get(DRAIN_KEY, 30.0))
        if app[SERVICE_KEY].peers is not None:
            await app[SERVICE_KEY].peers.close()

    app.on_shutdown.append(_drain)
    return app
