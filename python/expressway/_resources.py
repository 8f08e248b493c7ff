"""What a Task's ``Resource`` means locally: which Python handler runs, with which argument, and how
its return value or exception becomes the task's result or error, as AWS would report them."""

from __future__ import annotations

import contextlib
import email.utils
import functools
import inspect
import json
import math
import os
import re
import time
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import _context, _core
from ._context import new_uuid

__all__ = ["Handler", "Route", "Router", "exception_outcome", "marshal_error_outcome"]

Handler = Callable[..., Any]
"""A task handler: called with the task's input, returns its result (or an awaitable of it). A handler
with a parameter named ``context`` is also given a :class:`TaskContext` (by keyword)."""

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_INVOKE_WAIT = "arn:aws:states:::lambda:invoke.waitForTaskToken"

_NAME = r"[A-Za-z0-9_-]+"
_QUALIFIER = r"[A-Za-z0-9$_-]+"
_LAMBDA_ARN = re.compile(
    rf"^arn:(aws[a-zA-Z-]*):lambda:([a-z0-9-]+):(\d{{12}}):function:({_NAME})(?::({_QUALIFIER}))?$"
)
_PARTIAL_ARN = re.compile(rf"^(\d{{12}}):function:({_NAME})(?::({_QUALIFIER}))?$")
_BARE_NAME = re.compile(rf"^({_NAME})(?::({_QUALIFIER}))?$")

# The package's own directory: its frames are left out of the stack traces of handlers' errors.
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class FunctionRef:
    """A Lambda function reference: a name, a partial ARN or a full ARN, maybe with a qualifier."""

    __slots__ = ("account", "name", "partition", "qualifier", "raw", "region")

    def __init__(self, raw: str, partition: str, region: str, account: str, name: str, qualifier: str | None):
        self.raw = raw
        self.partition = partition
        self.region = region
        self.account = account
        self.name = name
        self.qualifier = qualifier

    @classmethod
    def parse(cls, text: str) -> FunctionRef | None:
        if m := _LAMBDA_ARN.match(text):
            return cls(text, m[1], m[2], m[3], m[4], m[5])
        if m := _PARTIAL_ARN.match(text):
            return cls(text, "aws", _context.REGION, m[1], m[2], m[3])
        if m := _BARE_NAME.match(text):
            return cls(text, "aws", _context.REGION, _context.ACCOUNT_ID, m[1], m[2])
        return None

    @property
    def arn(self) -> str:
        base = f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{self.name}"
        return base if self.qualifier is None else f"{base}:{self.qualifier}"

    def keys(self) -> list[str]:
        """The ``tasks`` keys that may name this function, most specific first."""
        keys = [self.raw, self.arn]
        if self.qualifier is not None:
            keys += [self.arn.rsplit(":", 1)[0], f"{self.name}:{self.qualifier}"]
        keys.append(self.name)
        return list(dict.fromkeys(keys))


@functools.lru_cache(maxsize=4096)
def _function_keys(resource: str) -> tuple[str, ...]:
    """The ``tasks`` keys that may name a Lambda function ARN resource (none for other resources);
    cached, as a Router is made per execution and parsing the ARN is the slow part."""
    ref = FunctionRef.parse(resource) if _LAMBDA_ARN.match(resource) else None
    return tuple(ref.keys()) if ref is not None else ()


class Route:
    """How to perform an invocation: call ``handler`` with the argument that comes with the route and
    pass the value through ``shape``; or, when ``handler`` is None, fail the task at once with
    ``error`` and ``cause``. Routes to a resource's own handler are made once and reused."""

    __slots__ = ("cause", "error", "handler", "shape", "wants_context")

    def __init__(
        self,
        handler: Handler | None,
        shape: Callable[[Any], Any] | None = None,
        error: str = "",
        cause: str | None = None,
        wants_context: bool = False,
    ) -> None:
        self.handler = handler
        self.shape = shape
        self.error = error
        self.cause = cause
        self.wants_context = wants_context


# accepts_context's answers by function (a bound method's answer is its function's, for every
# instance): inspect.signature is slow, and a Router is made per execution.
_CONTEXT_ANSWERS: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def accepts_context(handler: Handler) -> bool:
    """Whether ``handler`` has a parameter named ``context`` that can be passed by keyword."""
    function = getattr(handler, "__func__", None)
    key = function if function is not None and inspect.ismethod(handler) else handler
    try:
        return _CONTEXT_ANSWERS[key]
    except (KeyError, TypeError):  # not seen yet, or not weakly referenceable
        pass
    answer = _accepts_context(handler)
    with contextlib.suppress(TypeError):  # not weakly referenceable: asked again next time
        _CONTEXT_ANSWERS[key] = answer
    return answer


def _accepts_context(handler: Handler) -> bool:
    try:
        parameters = inspect.signature(handler).parameters
    except (TypeError, ValueError):
        return False
    parameter = parameters.get("context")
    return parameter is not None and parameter.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )


def _request_id() -> str:
    return new_uuid()


def lambda_invoke_result(payload: Any) -> dict[str, Any]:
    """The result of ``arn:aws:states:::lambda:invoke``: the function's payload in the SDK's envelope."""
    request_id = _request_id()
    length = str(len(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()))
    trace = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"
    headers = {
        "Connection": "keep-alive",
        "Content-Length": length,
        "Content-Type": "application/json",
        "Date": email.utils.formatdate(usegmt=True),
        "X-Amz-Executed-Version": "$LATEST",
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
        "X-Amzn-Trace-Id": trace,
    }
    return {
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }


class Router:
    """Resolves a Task's resource (and, for ``lambda:invoke``, its ``FunctionName``) to a handler in
    ``tasks``. Keys are full resource ARNs or Lambda function names (or function ARNs)."""

    def __init__(self, tasks: Mapping[str, Handler] | None) -> None:
        self._tasks: dict[str, Handler] = dict(tasks or {})
        for key, handler in self._tasks.items():
            if not isinstance(key, str):
                raise TypeError(f"tasks keys must be strings, got {key!r}")
            if not callable(handler):
                raise TypeError(f"tasks[{key!r}] is not callable")
        self._direct: dict[str, Route | None] = {}  # by resource: the route to its handler, if any
        self.plain: dict[str, Handler] = {}
        """The handlers the core may call itself (``Execution.run_inline``), by resource: those of
        direct routes that take the payload alone. Filled as resources are first routed."""
        # Whether each handler takes a context, looked at once per handler (by identity).
        self._context: dict[int, bool] = {id(h): accepts_context(h) for h in self._tasks.values()}

    def _lookup(self, keys: Sequence[str]) -> Handler | None:
        for key in keys:
            handler = self._tasks.get(key)
            if handler is not None:
                return handler
        return None

    def route(self, resource: str, payload: Any, state_name: str) -> tuple[Route, Any]:
        """The route of a Task's call, and the argument its handler gets."""
        try:
            direct = self._direct[resource]
        except KeyError:
            direct = self._direct[resource] = self._find_direct(resource)
        if direct is not None:
            return direct, payload
        if resource in (LAMBDA_INVOKE, LAMBDA_INVOKE_WAIT):
            return self._lambda_invoke(resource, payload)
        return self._missing(resource, state_name), None

    def _find_direct(self, resource: str) -> Route | None:
        if resource in (LAMBDA_INVOKE, LAMBDA_INVOKE_WAIT):
            return None  # the handler depends on the call's FunctionName
        handler = self._tasks.get(resource)
        if handler is None:
            handler = self._lookup(_function_keys(resource))
        if handler is None:
            return None
        wants_context = self._context[id(handler)]
        if not wants_context:
            self.plain[resource] = handler
        return Route(handler, wants_context=wants_context)

    @staticmethod
    def _missing(resource: str, state_name: str) -> Route:
        if _LAMBDA_ARN.match(resource):
            return Route(
                None,
                error="Lambda.ResourceNotFoundException",
                cause=(
                    f"Function not found: {resource} (Service: AWSLambda; Status Code: 404; "
                    f"Error Code: ResourceNotFoundException; Request ID: {_request_id()}; Proxy: null)"
                ),
            )
        return Route(
            None,
            error="States.TaskFailed",
            cause=(
                f"No task handler for resource '{resource}' (state '{state_name}'): "
                "give one in tasks={resource: handler}"
            ),
        )

    def _lambda_invoke(self, resource: str, parameters: Any) -> tuple[Route, Any]:
        function_name = parameters.get("FunctionName") if isinstance(parameters, dict) else None
        if not isinstance(function_name, str):
            return Route(
                None,
                error="States.Runtime",
                cause=f"The {resource} parameters must have a string FunctionName, got: "
                + json.dumps(parameters, ensure_ascii=False, default=repr),
            ), None
        ref = FunctionRef.parse(function_name)
        handler = self._lookup(ref.keys() if ref is not None else [function_name])
        if handler is None:
            arn = ref.arn if ref is not None else function_name
            return Route(
                None,
                error="Lambda.ResourceNotFoundException",
                cause=(
                    f"Function not found: {arn} (Service: Lambda, Status Code: 404, "
                    f"Request ID: {_request_id()})"
                ),
            ), None
        argument = invoke_payload(parameters.get("Payload"))
        shape = lambda_invoke_result if resource == LAMBDA_INVOKE else None
        return Route(handler, shape, wants_context=self._context[id(handler)]), argument


exception_outcome: Callable[..., tuple[str, str | None]] = _core.exception_outcome
"""``exception_outcome(exc, compact=False)``: the (error, cause) a handler's exception fails its task
with: ``TaskFailed`` gives exactly its error and cause; anything else is reported as the AWS Lambda
Python runtime reports it (the extension makes it: this runs for every failing handler call whose
cause is read). ``compact``: as ``lambda:invoke`` reports it, the error document without spaces."""


def marshal_error_outcome(exc: BaseException, compact: bool = False) -> tuple[str, str]:
    """A handler returned something that is not JSON: Lambda's ``Runtime.MarshalError``."""
    return "Runtime.MarshalError", _core.lambda_error(
        f"Unable to marshal response: {exc}", "Runtime.MarshalError", "", compact
    )


def _not_json(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def _finite(number: str) -> float:
    value = float(number)
    if math.isinf(value):
        raise ValueError(f"{number} is beyond a double")
    return value


def _json_or_text(text: str) -> Any:
    """``text`` as JSON when it is JSON text (strictly: no NaN or Infinity, no number beyond a
    double), else the string itself."""
    try:
        return json.loads(text, parse_constant=_not_json, parse_float=_finite)
    except ValueError:
        return text


def returned_bytes(value: bytes | bytearray) -> Any:
    """What a function's result given as bytes is to Step Functions: the Lambda runtime sends bytes
    as they are, and Step Functions reads the payload as JSON when it is JSON text, else as a string.
    Bytes that are not UTF-8 are not a payload Step Functions can read (ValueError)."""
    return _json_or_text(bytes(value).decode("utf-8"))


def invoke_payload(payload: Any) -> Any:
    """The event ``lambda:invoke`` gives the function for its ``Payload`` parameter: none (or null) is
    ``{}`` (an invocation without a payload); a string of JSON text is that JSON (Step Functions sends
    a string as the request body as it is); any other value as it is."""
    if payload is None:
        return {}
    if isinstance(payload, str):
        return _json_or_text(payload)
    return payload
