"""The execution actions: start (synchronously or not), stop, describe, list, and history."""

from __future__ import annotations

import asyncio
import functools
import math
from typing import Any

import orjson

from .._context import execution_arn
from . import shapes
from .callbacks import TaskTokenActions
from .checks import check_payload, check_resource_name, now
from .protocol import ServiceError, check_fields
from .store import ExecutionRecord, page

__all__ = ["ExecutionActions"]

STANDARD_MAX_DURATION = 365 * 24 * 3600.0
_NOT_SUPPORTED_FOR_TYPE = "This operation is not supported by this type of state machine"


class ExecutionActions(TaskTokenActions):
    """StartSyncExecution, StartExecution, StopExecution, DescribeExecution,
    DescribeStateMachineForExecution, ListExecutions, GetExecutionHistory; and the drain at shutdown."""

    def _begin(self, req: dict[str, Any], sync: bool) -> ExecutionRecord:
        check_fields(req, shapes.START)
        machine = self._machine(req["stateMachineArn"])
        if machine.deleting:
            raise ServiceError("StateMachineDeleting", f"State Machine is being deleted: '{machine.arn}'")
        if sync and machine.type != "EXPRESS":
            raise ServiceError("StateMachineTypeNotSupported", _NOT_SUPPORTED_FOR_TYPE)
        name = req.get("name")
        if name is not None:
            check_resource_name(name)
        text = req.get("input")
        if text is None:
            text = "{}"
        check_payload(text, "input")
        if self.inflight >= self.options.max_inflight:
            raise ServiceError("ThrottlingException", "Rate exceeded")
        express = machine.type == "EXPRESS"
        try:
            driver = machine.machine._start(
                input=None,
                input_json=text,
                tasks=None,
                time_scale=1.0,
                name=name,
                max_duration=self.options.express_max_duration if express else STANDARD_MAX_DURATION,
                seed=None,
                clock=None,
                router=self.router,
                history=machine.records_history,
            ).driver()
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
        check_fields(req, shapes.START)
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

    async def stop_execution(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, shapes.STOP)
        record = self._execution(req["executionArn"])
        if record.status == "RUNNING" and record.driver is not None:
            record.driver.request_stop(req.get("error"), req.get("cause"))
            if record.task is not None:
                # The driver stops at its next step and cancels what is in flight; wait for that.
                await asyncio.wait({record.task}, timeout=10.0)
        return {"stopDate": record.stop_date if record.stop_date is not None else now()}

    async def describe_execution(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, shapes.EXECUTION_ARN)
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
        check_fields(req, shapes.EXECUTION_ARN)
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
        check_fields(req, shapes.LIST_EXECUTIONS)
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
        scope = f"ListExecutions {m.arn} {wanted or ''}"
        items, token = page(
            listed, req.get("maxResults"), req.get("nextToken"), scope=scope, key=_execution_arn
        )
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
        check_fields(req, shapes.HISTORY)
        record = self._execution(req["executionArn"])
        include = req.get("includeExecutionData")
        include = True if include is None else include
        if record.history:
            events = orjson.loads(record.history_json(include))
        else:
            events = _summary_history(record, include)
        if req.get("reverseOrder"):
            events.reverse()
        scope = f"GetExecutionHistory {record.arn} {bool(req.get('reverseOrder'))} {include}"
        items, token = page(events, req.get("maxResults"), req.get("nextToken"), scope=scope, key=_event_id)
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


def _billed_ms(duration_s: float) -> int:
    """Express bills whole 100 ms units, at least one."""
    return max(100, math.ceil(duration_s * 10.0 - 1e-9) * 100)


def _execution_arn(item: dict[str, Any]) -> Any:
    return item["executionArn"]


def _event_id(event: dict[str, Any]) -> Any:
    return event["id"]
