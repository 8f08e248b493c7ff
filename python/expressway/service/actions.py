"""The Step Functions actions: each takes the request's JSON object and returns the response's.

The execution data (``input``, ``output``) stays JSON text end to end: the input string goes to the
Rust core as it came, and the output comes back as text.
"""

from __future__ import annotations

import asyncio
import functools
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .._context import check_name, execution_arn, new_uuid, state_machine_arn
from .._errors import InvalidDefinition
from .._machine import StateMachine, validate
from .._resources import Handler, Router
from .peers import Peers
from .protocol import Field, ServiceError, Shape, check_fields
from .store import ExecutionRecord, MachineRecord, SharedMachines, Store, page

__all__ = ["ACTIONS", "Service", "ServiceOptions"]

MAX_PAYLOAD = 262_144
"""Execution input and output: 256 KiB as UTF-8."""

MAX_DEFINITION = 1_048_576
STANDARD_MAX_DURATION = 365 * 24 * 3600.0
MAX_TAGS = 50

_ARN_PREFIX = re.compile(r"^arn:aws[a-zA-Z-]*:states:([a-z0-9-]+):(\d{12}):([A-Za-z]+):(.*)$")
_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
_LOG_LEVELS = ("ALL", "ERROR", "FATAL", "OFF")
# expressway's task tokens: base64 of 48 random bytes (see the core's new_task_token).
_TASK_TOKEN = re.compile(r"^[A-Za-z0-9+/]{64}$")
MAX_SPENT_TOKENS = 10_000
_NOT_SUPPORTED_FOR_TYPE = "This operation is not supported by this type of state machine"


@dataclass(frozen=True, slots=True)
class ServiceOptions:
    """How the service behaves. ``keep_finished``: finished executions kept per state machine.
    ``max_inflight``: executions running at once in this process before starts are throttled.
    ``max_open``: asynchronous executions running at once before StartExecution answers
    ExecutionLimitExceeded. ``aws_strict``: refuse Describe/List/History/Stop for Express executions,
    as AWS does. ``express_max_duration``: the Express limit in seconds."""

    keep_finished: int = 1000
    max_inflight: int = 10_000
    max_open: int = 100_000
    aws_strict: bool = False
    express_max_duration: float = 300.0


def _now() -> float:
    return time.time()


def _invalid_arn(reason: str) -> ServiceError:
    return ServiceError("InvalidArn", f"Invalid Arn: '{reason}'")


def _parse_arn(arn: str, *kinds: str) -> tuple[str, str]:
    """(resource type, rest) of a Step Functions ARN whose resource type is one of ``kinds``."""
    match = _ARN_PREFIX.match(arn)
    if match is None:
        raise _invalid_arn(f"Invalid ARN prefix: {arn}")
    kind, rest = match[3], match[4]
    if kind not in kinds or not rest:
        raise _invalid_arn(f"Resource type not valid in this context: {kind}")
    return kind, rest


def _check_role(arn: str) -> None:
    if not re.match(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/\S+$", arn):
        raise _invalid_arn(
            f"Invalid ARN prefix: {arn}" if not arn.startswith("arn:") else f"Invalid role ARN: {arn}"
        )


def _payload_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _check_payload(text: str, what: str) -> None:
    if _payload_size(text) > MAX_PAYLOAD:
        raise ServiceError(
            "ValidationException",
            f"1 validation error detected: Value at '{what}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_PAYLOAD}",
        )


def _tags_from(raw: list[Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise ServiceError("ValidationException", "Each tag must be an object with a string 'key'")
        value = item.get("value", "")
        if not isinstance(value, str):
            raise ServiceError("ValidationException", f"The value of tag '{item['key']}' must be a string")
        # AWS's Tag shape: key 1-128 characters, value at most 256.
        if not 1 <= len(item["key"]) <= 128:
            raise ServiceError(
                "ValidationException",
                "1 validation error detected: Value at 'tags.key' failed to satisfy constraint: "
                "Member must have length between 1 and 128",
            )
        if len(value) > 256:
            raise ServiceError(
                "ValidationException",
                f"1 validation error detected: Value at 'tags.value' (tag '{item['key']}') failed to satisfy "
                "constraint: Member must have length less than or equal to 256",
            )
        tags[item["key"]] = value
    return tags


def _check_logging(config: dict[str, Any] | None) -> dict[str, Any]:
    if config is None:
        return {"level": "OFF", "includeExecutionData": False}
    level = config.get("level", "OFF")
    if level not in _LOG_LEVELS:
        raise ServiceError(
            "InvalidLoggingConfiguration",
            f"Invalid Logging Configuration: 'level must be one of {', '.join(_LOG_LEVELS)}, not {level!r}'",
        )
    include = config.get("includeExecutionData", False)
    if not isinstance(include, bool):
        raise ServiceError(
            "SerializationException", "Member 'loggingConfiguration.includeExecutionData' must be a boolean"
        )
    out = {"level": level, "includeExecutionData": include}
    if config.get("destinations"):
        out["destinations"] = config["destinations"]
    return out


def _check_tracing(config: dict[str, Any] | None) -> dict[str, Any]:
    enabled = (config or {}).get("enabled", False)
    if not isinstance(enabled, bool):
        raise ServiceError(
            "InvalidTracingConfiguration", "Invalid Tracing Configuration: 'enabled must be a boolean'"
        )
    return {"enabled": enabled}


def _billed_ms(duration_s: float) -> int:
    """Express bills whole 100 ms units, at least one."""
    return max(100, math.ceil(duration_s * 10.0 - 1e-9) * 100)


class Service:
    """The actions over one store. One per worker process."""

    def __init__(
        self,
        tasks: Mapping[str, Handler] | None = None,
        options: ServiceOptions | None = None,
        shared: SharedMachines | None = None,
    ) -> None:
        self.options = options or ServiceOptions()
        self.store = Store(self.options.keep_finished, shared)
        self.router = Router(tasks)
        # The sibling workers, when there are several (set by the server; see peers.py).
        self.peers: Peers | None = None
        # .waitForTaskToken tasks: the tokens waited for, and the last ones that were (for the
        # TaskTimedOut answer AWS gives to a token whose task is over).
        self.task_tokens: dict[str, ExecutionRecord] = {}
        self.spent_tokens: OrderedDict[str, None] = OrderedDict()
        self.inflight = 0
        self.open = 0

    # ------------------------------------------------------------------ state machines

    async def create_state_machine(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _CREATE)
        name, definition, role_arn = req["name"], req["definition"], req["roleArn"]
        machine_type = req.get("type") or "STANDARD"
        _check_name(name)
        _check_role(role_arn)
        if req.get("publish"):
            raise ServiceError(
                "ValidationException", "expressway does not support state machine versions (publish)"
            )
        logging = _check_logging(req.get("loggingConfiguration"))
        tracing = _check_tracing(req.get("tracingConfiguration"))
        tags = _tags_from(req.get("tags") or [])
        if len(tags) > MAX_TAGS:
            raise ServiceError("TooManyTags", f"Too many tags: at most {MAX_TAGS} per resource")
        arn = state_machine_arn(name)
        existing = self.store.find(arn)
        if existing is not None:
            if existing.deleting:
                raise ServiceError("StateMachineDeleting", f"State Machine is being deleted: '{arn}'")
            # AWS: idempotent on name, definition, type, logging and tracing; a different roleArn or
            # tags is ignored (and not applied).
            same = (existing.definition, existing.type, existing.logging, existing.tracing) == (
                definition,
                machine_type,
                logging,
                tracing,
            )
            if same:
                return {"stateMachineArn": arn, "creationDate": existing.creation_date}
            raise ServiceError("StateMachineAlreadyExists", f"State Machine Already Exists: '{arn}'")
        machine = _compile(definition, machine_type, name)
        now = _now()
        record = MachineRecord(
            arn=arn,
            name=name,
            type=machine_type,
            definition=definition,
            role_arn=role_arn,
            machine=machine,
            creation_date=now,
            update_date=now,
            revision_id=new_uuid(),
            logging=logging,
            tracing=tracing,
            tags=tags,
        )
        if self.store.add_machine(record) is None:  # another worker created it a moment ago
            return await self.create_state_machine(req)
        return {"stateMachineArn": arn, "creationDate": now}

    def _machine(self, arn: str) -> MachineRecord:
        record = self.store.find(arn)
        if record is None:  # a stored machine's ARN is valid: only a miss needs the checks
            _parse_arn(arn, "stateMachine")
            return self.store.machine(arn)
        return record

    async def describe_state_machine(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _MACHINE_ARN)
        m = self._machine(req["stateMachineArn"])
        return {
            "stateMachineArn": m.arn,
            "name": m.name,
            "status": "DELETING" if m.deleting else "ACTIVE",
            "definition": m.definition,
            "roleArn": m.role_arn,
            "type": m.type,
            "creationDate": m.creation_date,
            "loggingConfiguration": m.logging,
            "tracingConfiguration": m.tracing,
            "revisionId": m.revision_id,
        }

    async def update_state_machine(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _UPDATE)
        m = self._machine(req["stateMachineArn"])
        if m.deleting:
            raise ServiceError("StateMachineDeleting", f"State Machine is being deleted: '{m.arn}'")
        changes = ("definition", "roleArn", "loggingConfiguration", "tracingConfiguration")
        if all(req.get(key) is None for key in changes):
            raise ServiceError(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration "
                "must be specified",
            )
        if req.get("publish"):
            raise ServiceError(
                "ValidationException", "expressway does not support state machine versions (publish)"
            )
        role_arn = req.get("roleArn")
        if role_arn is not None:
            _check_role(role_arn)
        logging = (
            _check_logging(req["loggingConfiguration"]) if req.get("loggingConfiguration") else m.logging
        )
        tracing = (
            _check_tracing(req["tracingConfiguration"]) if req.get("tracingConfiguration") else m.tracing
        )
        definition = req.get("definition")
        machine = _compile(definition, m.type, m.name) if definition is not None else m.machine
        # Running executions keep the definition they started with (they hold their own program).
        m.machine = machine
        m.definition = definition if definition is not None else m.definition
        m.role_arn = role_arn or m.role_arn
        m.logging, m.tracing = logging, tracing
        m.update_date = _now()
        m.revision_id = new_uuid()
        self.store.save_machine(m)
        return {"updateDate": m.update_date, "revisionId": m.revision_id}

    async def delete_state_machine(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _MACHINE_ARN)
        arn = req["stateMachineArn"]
        _parse_arn(arn, "stateMachine")
        m = self.store.find(arn)
        if m is not None:
            # Running executions finish; the machine goes when the last one ends (status DELETING).
            m.deleting = True
            if m.running == 0:
                self.store.forget_machine(m)
            else:
                self.store.save_machine(m)
        return {}

    async def list_state_machines(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _LIST_MACHINES)
        machines = self.store.machines()
        items, token = page(machines, req.get("maxResults"), req.get("nextToken"))
        out: dict[str, Any] = {
            "stateMachines": [
                {"stateMachineArn": m.arn, "name": m.name, "type": m.type, "creationDate": m.creation_date}
                for m in items
            ]
        }
        if token:
            out["nextToken"] = token
        return out

    async def validate_state_machine_definition(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _VALIDATE)
        severity = req.get("severity") or "ERROR"
        limit = req.get("maxResults") or 100
        diagnostics = validate(req["definition"], req.get("type") or "STANDARD")
        errors = [d for d in diagnostics if d["severity"] == "ERROR"]
        shown = diagnostics if severity == "WARNING" else errors
        return {
            "result": "FAIL" if errors else "OK",
            "diagnostics": shown[:limit],
            "truncated": len(shown) > limit,
        }

    # ------------------------------------------------------------------ tags

    def _tagged(self, arn: str) -> MachineRecord:
        _parse_arn(arn, "stateMachine")
        m = self.store.find(arn)
        if m is None:
            raise ServiceError("ResourceNotFound", f"Resource not found: '{arn}'")
        return m

    async def tag_resource(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _TAG)
        m = self._tagged(req["resourceArn"])
        tags = {**m.tags, **_tags_from(req["tags"])}
        if len(tags) > MAX_TAGS:
            raise ServiceError("TooManyTags", f"Too many tags: at most {MAX_TAGS} per resource")
        m.tags = tags
        self.store.save_machine(m)
        return {}

    async def untag_resource(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _UNTAG)
        m = self._tagged(req["resourceArn"])
        if not all(isinstance(key, str) for key in req["tagKeys"]):
            raise ServiceError("SerializationException", "Member 'tagKeys' must be a list of strings")
        for key in req["tagKeys"]:
            m.tags.pop(key, None)
        self.store.save_machine(m)
        return {}

    async def list_tags_for_resource(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _RESOURCE_ARN)
        m = self._tagged(req["resourceArn"])
        return {"tags": [{"key": k, "value": v} for k, v in m.tags.items()]}

    # ------------------------------------------------------------------ executions

    def _begin(self, req: dict[str, Any], sync: bool) -> ExecutionRecord:
        check_fields(req, _START)
        machine = self._machine(req["stateMachineArn"])
        if machine.deleting:
            raise ServiceError("StateMachineDeleting", f"State Machine is being deleted: '{machine.arn}'")
        if sync and machine.type != "EXPRESS":
            raise ServiceError("StateMachineTypeNotSupported", _NOT_SUPPORTED_FOR_TYPE)
        name = req.get("name")
        if name is not None:
            _check_name(name)
        text = req.get("input")
        if text is None:
            text = "{}"
        _check_payload(text, "input")
        if self.inflight >= self.options.max_inflight:
            raise ServiceError("ThrottlingException", "Rate exceeded")
        express = machine.type == "EXPRESS"
        try:
            driver = machine.machine._prepare(
                None,
                text,
                None,
                1.0,
                name,
                self.options.express_max_duration if express else STANDARD_MAX_DURATION,
                None,
                None,
                router=self.router,
                history=machine.records_history,
            )
        except ValueError as exc:
            message = (
                str(exc)
                .removeprefix("the execution input is not valid JSON: ")
                .removeprefix("invalid JSON: ")
            )
            raise ServiceError(
                "InvalidExecutionInput", f"Invalid State Machine Execution Input: '{message}'"
            ) from None
        record = ExecutionRecord(
            arn=driver.arn,
            name=driver.name,
            machine=machine,
            definition=machine.definition,
            role_arn=machine.role_arn,
            machine_update_date=machine.update_date,
            input=text,
            start_date=driver.start_ms / 1000.0,
            driver=driver,
            history=machine.records_history,
            trace_header=req.get("traceHeader"),
        )
        if not express:  # only STANDARD machines may have .waitForTaskToken tasks
            driver.token_listener = functools.partial(self._task_token_changed, record)
        return record

    # ------------------------------------------------------------------ task tokens

    def _task_token_changed(self, record: ExecutionRecord, task_token: str, what: str) -> None:
        if what == "waiting":
            self.task_tokens[task_token] = record
            return
        self.task_tokens.pop(task_token, None)
        self.spent_tokens[task_token] = None
        while len(self.spent_tokens) > MAX_SPENT_TOKENS:
            self.spent_tokens.popitem(last=False)

    def _waiting_task(self, task_token: str) -> ExecutionRecord:
        record = self.task_tokens.get(task_token)
        if record is not None and record.driver is not None:
            return record
        if not _TASK_TOKEN.match(task_token):
            raise ServiceError("InvalidToken", "Invalid Token: 'Invalid token'")
        if task_token in self.spent_tokens:
            raise ServiceError("TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'")
        raise ServiceError("TaskDoesNotExist", "Task Does Not Exist: 'Provided task does not exist'")

    async def send_task_success(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _SEND_SUCCESS)
        output = req["output"]
        _check_payload(output, "output")
        try:
            orjson.loads(output)
        except orjson.JSONDecodeError as exc:
            raise ServiceError("InvalidOutput", f"Invalid Output: '{exc}'") from None
        record = self._waiting_task(req["taskToken"])
        assert record.driver is not None
        record.driver.send_task_success(req["taskToken"], output_json=output)
        return {}

    async def send_task_failure(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _SEND_FAILURE)
        record = self._waiting_task(req["taskToken"])
        assert record.driver is not None
        record.driver.send_task_failure(req["taskToken"], req.get("error"), req.get("cause"))
        return {}

    async def send_task_heartbeat(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _SEND_HEARTBEAT)
        record = self._waiting_task(req["taskToken"])
        assert record.driver is not None
        record.driver.send_task_heartbeat(req["taskToken"])
        return {}

    async def start_sync_execution(self, req: dict[str, Any]) -> dict[str, Any]:
        record = self._begin(req, sync=True)
        self.inflight += 1
        self.store.add_execution(record)
        try:
            driver = record.driver
            assert driver is not None  # set until the record settles
            if not driver.drive_sync():
                await driver.drive()
        finally:
            self.inflight -= 1
            record.settle()
            self.store.execution_ended(record)
        out: dict[str, Any] = {
            "executionArn": record.arn,
            "stateMachineArn": record.machine.arn,
            "name": record.name,
            "startDate": record.start_date,
            "stopDate": record.stop_date,
            "status": record.status,
            "input": record.input,
            "inputDetails": {"included": True},
        }
        if record.status == "SUCCEEDED":
            out["output"] = record.output
            out["outputDetails"] = {"included": True}
        else:
            _error_fields(out, record)
        if record.trace_header is not None:
            out["traceHeader"] = record.trace_header
        duration = (record.stop_date or record.start_date) - record.start_date
        out["billingDetails"] = {
            "billedMemoryUsedInMB": 64,
            "billedDurationInMilliseconds": _billed_ms(duration),
        }
        return out

    async def start_execution(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _START)
        machine = self._machine(req["stateMachineArn"])
        name = req.get("name")
        if machine.type == "STANDARD" and name is not None:
            # A STANDARD execution's name is its identity: reusing it is refused, unless the same input
            # is sent again while it still runs (then the call is idempotent).
            arn = execution_arn(machine.name, name, "STANDARD")
            existing = self.store.executions.get(arn)
            if existing is not None:
                known: dict[str, Any] | None = {
                    "status": existing.status,
                    "input": existing.input,
                    "startDate": existing.start_date,
                }
            elif self.peers is not None:  # another worker may hold it
                known = await self.peers.describe(arn)
            else:
                known = None
            if known is not None:
                if known["status"] == "RUNNING" and known["input"] == (req.get("input") or "{}"):
                    return {"executionArn": arn, "startDate": known["startDate"]}
                raise ServiceError("ExecutionAlreadyExists", f"Execution Already Exists: '{arn}'")
        if self.open >= self.options.max_open:
            raise ServiceError(
                "ExecutionLimitExceeded",
                f"Execution Limit Exceeded: 'at most {self.options.max_open} executions may be running'",
            )
        record = self._begin(req, sync=False)
        self.inflight += 1
        self.open += 1
        self.store.add_execution(record)
        record.task = asyncio.get_running_loop().create_task(self._run_in_background(record))
        return {"executionArn": record.arn, "startDate": record.start_date}

    async def _run_in_background(self, record: ExecutionRecord) -> None:
        try:
            driver = record.driver
            assert driver is not None  # set until the record settles
            if not driver.drive_sync():
                await driver.drive()
        except asyncio.CancelledError:
            pass  # the service is shutting down: the execution is ABORTED
        finally:
            self.inflight -= 1
            self.open -= 1
            record.settle()
            self.store.execution_ended(record)

    def _execution(self, arn: str) -> ExecutionRecord:
        record = self.store.executions.get(arn)
        if record is not None and not self.options.aws_strict:
            return record
        kind, _ = _parse_arn(arn, "execution", "express")
        if kind == "express" and self.options.aws_strict:
            raise _invalid_arn("Resource type not valid in this context: express")
        return self.store.execution(arn)

    async def stop_execution(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _STOP)
        record = self._execution(req["executionArn"])
        if record.status == "RUNNING" and record.driver is not None:
            record.driver.request_stop(req.get("error"), req.get("cause"))
            if record.task is not None:
                # The driver stops at its next step and cancels what is in flight; wait for that.
                await asyncio.wait({record.task}, timeout=10.0)
        return {"stopDate": record.stop_date if record.stop_date is not None else _now()}

    async def describe_execution(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _EXECUTION_ARN)
        record = self._execution(req["executionArn"])
        out: dict[str, Any] = {
            "executionArn": record.arn,
            "stateMachineArn": record.machine.arn,
            "name": record.name,
            "status": record.status,
            "startDate": record.start_date,
            "input": record.input,
            "inputDetails": {"included": True},
            "redriveCount": 0,
            "redriveStatus": "NOT_REDRIVABLE",
        }
        if record.stop_date is not None:
            out["stopDate"] = record.stop_date
        if record.status == "SUCCEEDED":
            out["output"] = record.output
            out["outputDetails"] = {"included": True}
        _error_fields(out, record)
        if record.trace_header is not None:
            out["traceHeader"] = record.trace_header
        return out

    async def describe_state_machine_for_execution(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _EXECUTION_ARN)
        record = self._execution(req["executionArn"])
        m = record.machine
        return {
            "stateMachineArn": m.arn,
            "name": m.name,
            "definition": record.definition,
            "roleArn": record.role_arn,
            "updateDate": record.machine_update_date,
            "loggingConfiguration": m.logging,
            "tracingConfiguration": m.tracing,
        }

    async def list_executions(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _LIST_EXECUTIONS)
        if req.get("stateMachineArn") is None:
            raise ServiceError("ValidationException", "Must provide a StateMachine ARN or MapRun ARN")
        m = self._machine(req["stateMachineArn"])
        if m.type == "EXPRESS" and self.options.aws_strict:
            raise ServiceError("StateMachineTypeNotSupported", _NOT_SUPPORTED_FOR_TYPE)
        wanted = req.get("statusFilter")
        listed = self.local_executions(m.arn, wanted)
        if self.peers is not None:
            listed.extend(await self.peers.executions(m.arn, wanted))
            listed.sort(key=lambda item: item["startDate"], reverse=True)
        items, token = page(listed, req.get("maxResults"), req.get("nextToken"))
        out: dict[str, Any] = {"executions": items}
        if token:
            out["nextToken"] = token
        return out

    def local_executions(self, machine_arn: str, status: str | None) -> list[dict[str, Any]]:
        """ListExecutions items of this process's executions of a machine, newest first."""
        records = [r for r in self.store.executions.values() if r.machine.arn == machine_arn]
        if status is not None:
            records = [r for r in records if r.status == status]
        records.sort(key=lambda r: r.start_date, reverse=True)
        listed = []
        for r in records:
            item = {
                "executionArn": r.arn,
                "stateMachineArn": machine_arn,
                "name": r.name,
                "status": r.status,
                "startDate": r.start_date,
            }
            if r.stop_date is not None:
                item["stopDate"] = r.stop_date
            listed.append(item)
        return listed

    async def get_execution_history(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, _HISTORY)
        record = self._execution(req["executionArn"])
        include = req.get("includeExecutionData")
        include = True if include is None else include
        if record.history:
            events = orjson.loads(record.history_json(include))
        else:
            events = _summary_history(record, include)
        if req.get("reverseOrder"):
            events.reverse()
        items, token = page(events, req.get("maxResults"), req.get("nextToken"))
        out: dict[str, Any] = {"events": items}
        if token:
            out["nextToken"] = token
        return out

    # ------------------------------------------------------------------ shutdown

    async def drain(self, deadline_s: float) -> None:
        """Lets running executions finish for up to ``deadline_s`` seconds, then cancels the rest."""
        tasks = [r.task for r in self.store.executions.values() if r.task is not None and not r.task.done()]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=deadline_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)


def _check_name(name: str) -> None:
    try:
        check_name(name, "")
    except ValueError:
        raise ServiceError("InvalidName", f"Invalid Name: '{name}'") from None


def _compile(definition: str, machine_type: str, name: str) -> StateMachine:
    try:
        return StateMachine(definition, type=machine_type, name=name)
    except InvalidDefinition as exc:
        raise ServiceError("InvalidDefinition", exc.message) from None


def _error_fields(out: dict[str, Any], record: ExecutionRecord) -> None:
    if record.error is not None:
        out["error"] = record.error
    if record.cause is not None:
        out["cause"] = record.cause


_TERMINAL_EVENTS = {
    "SUCCEEDED": ("ExecutionSucceeded", "executionSucceededEventDetails"),
    "FAILED": ("ExecutionFailed", "executionFailedEventDetails"),
    "TIMED_OUT": ("ExecutionTimedOut", "executionTimedOutEventDetails"),
    "ABORTED": ("ExecutionAborted", "executionAbortedEventDetails"),
}


def _summary_history(record: ExecutionRecord, include: bool) -> list[dict[str, Any]]:
    """The start and the end of an execution whose steps were not recorded (an Express machine with
    logging off: see MachineRecord.records_history)."""
    started: dict[str, Any] = {"inputDetails": {"truncated": False}, "roleArn": record.role_arn}
    if include:
        started["input"] = record.input
    events: list[dict[str, Any]] = [
        {
            "timestamp": record.start_date,
            "type": "ExecutionStarted",
            "id": 1,
            "previousEventId": 0,
            "executionStartedEventDetails": started,
        }
    ]
    if record.status in _TERMINAL_EVENTS:
        kind, key = _TERMINAL_EVENTS[record.status]
        details: dict[str, Any] = {}
        if record.status == "SUCCEEDED":
            if include:
                details["output"] = record.output
            details["outputDetails"] = {"truncated": False}
        else:
            if record.error is not None:
                details["error"] = record.error
            if record.cause is not None:
                details["cause"] = record.cause
        events.append(
            {"timestamp": record.stop_date, "type": kind, "id": 2, "previousEventId": 1, key: details}
        )
    return events


_ARN = Field(str, required=True, min=1, max=256)
_MACHINE_ARN = Shape({"stateMachineArn": _ARN})
_EXECUTION_ARN = Shape(
    {"executionArn": _ARN, "includedData": Field(str, choices=("ALL_DATA", "METADATA_ONLY"))}
)
_RESOURCE_ARN = Shape({"resourceArn": _ARN})
_PAGE = {"maxResults": Field(int, min=0, max=1000), "nextToken": Field(str, min=1, max=3096)}
_CONFIGS = {
    "loggingConfiguration": Field(dict),
    "tracingConfiguration": Field(dict),
    "publish": Field(bool),
    "versionDescription": Field(str, max=256),
}
_CREATE = Shape(
    {
        "name": Field(str, required=True, min=1, max=80),
        "definition": Field(str, required=True, min=1, max=MAX_DEFINITION),
        "roleArn": _ARN,
        "type": Field(str, choices=("STANDARD", "EXPRESS")),
        "tags": Field(list),
        **_CONFIGS,
    }
)
_UPDATE = Shape(
    {
        "stateMachineArn": _ARN,
        "definition": Field(str, min=1, max=MAX_DEFINITION),
        "roleArn": Field(str, min=1, max=256),
        **_CONFIGS,
    }
)
_LIST_MACHINES = Shape(_PAGE)
_VALIDATE = Shape(
    {
        "definition": Field(str, required=True, min=1, max=MAX_DEFINITION),
        "type": Field(str, choices=("STANDARD", "EXPRESS")),
        "severity": Field(str, choices=("ERROR", "WARNING")),
        "maxResults": Field(int, min=0, max=100),
    }
)
_TAG = Shape({"resourceArn": _ARN, "tags": Field(list, required=True)})
_UNTAG = Shape({"resourceArn": _ARN, "tagKeys": Field(list, required=True)})
# input's 256 KiB bound is in bytes; _check_payload measures it.
_START = Shape(
    {
        "stateMachineArn": _ARN,
        "name": Field(str, min=1, max=80),
        "input": Field(str),
        "traceHeader": Field(str, max=256),
        "includedData": Field(str, choices=("ALL_DATA", "METADATA_ONLY")),
    }
)
_TOKEN = Field(str, required=True, min=1, max=2048)
_SEND_SUCCESS = Shape({"taskToken": _TOKEN, "output": Field(str, required=True)})
_SEND_FAILURE = Shape({"taskToken": _TOKEN, "error": Field(str, max=256), "cause": Field(str, max=32768)})
_SEND_HEARTBEAT = Shape({"taskToken": _TOKEN})
_STOP = Shape({"executionArn": _ARN, "error": Field(str, max=256), "cause": Field(str, max=32768)})
_LIST_EXECUTIONS = Shape(
    {
        "stateMachineArn": Field(str, min=1, max=256),
        "statusFilter": Field(str, choices=_STATUSES),
        "mapRunArn": Field(str),
        **_PAGE,
    }
)
_HISTORY = Shape(
    {
        "executionArn": _ARN,
        "reverseOrder": Field(bool),
        "includeExecutionData": Field(bool),
        **_PAGE,
    }
)

Action = Callable[[Service, dict[str, Any]], Awaitable[dict[str, Any]]]

ACTIONS: dict[str, Action] = {
    "CreateStateMachine": Service.create_state_machine,
    "DescribeStateMachine": Service.describe_state_machine,
    "UpdateStateMachine": Service.update_state_machine,
    "DeleteStateMachine": Service.delete_state_machine,
    "ListStateMachines": Service.list_state_machines,
    "ValidateStateMachineDefinition": Service.validate_state_machine_definition,
    "DescribeStateMachineForExecution": Service.describe_state_machine_for_execution,
    "TagResource": Service.tag_resource,
    "UntagResource": Service.untag_resource,
    "ListTagsForResource": Service.list_tags_for_resource,
    "StartSyncExecution": Service.start_sync_execution,
    "StartExecution": Service.start_execution,
    "StopExecution": Service.stop_execution,
    "DescribeExecution": Service.describe_execution,
    "ListExecutions": Service.list_executions,
    "GetExecutionHistory": Service.get_execution_history,
    "SendTaskSuccess": Service.send_task_success,
    "SendTaskFailure": Service.send_task_failure,
    "SendTaskHeartbeat": Service.send_task_heartbeat,
}
