"""The callback pattern: SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat bring back the
tokens of `.waitForTaskToken` tasks (kept here as their executions' drivers report them)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from . import shapes
from .base import ServiceBase
from .checks import check_payload
from .protocol import ServiceError, check_fields
from .store import ExecutionRecord

__all__ = ["TaskTokenActions"]

# expressway's task tokens: base64 of 48 random bytes (see the core's new_task_token).
_TASK_TOKEN = re.compile(r"^[A-Za-z0-9+/]{64}$")
MAX_SPENT_TOKENS = 10_000


class TaskTokenActions(ServiceBase):
    """SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat, and the bookkeeping of task tokens."""

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
        check_fields(req, shapes.SEND_SUCCESS)
        output = req["output"]
        check_payload(output, "output")
        try:
            orjson.loads(output)
        except orjson.JSONDecodeError as exc:
            raise ServiceError("InvalidOutput", f"Invalid Output: '{exc}'") from None
        record = self._waiting_task(req["taskToken"])
        assert record.driver is not None
        record.driver.send_task_success(req["taskToken"], output_json=output)
        return {}

    async def send_task_failure(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, shapes.SEND_FAILURE)
        record = self._waiting_task(req["taskToken"])
        assert record.driver is not None
        record.driver.send_task_failure(req["taskToken"], req.get("error"), req.get("cause"))
        return {}

    async def send_task_heartbeat(self, req: dict[str, Any]) -> dict[str, Any]:
        check_fields(req, shapes.SEND_HEARTBEAT)
        record = self._waiting_task(req["taskToken"])
        assert record.driver is not None
        record.driver.send_task_heartbeat(req["taskToken"])
        return {}
