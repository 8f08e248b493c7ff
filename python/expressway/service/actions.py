"""The Step Functions actions, by name: each takes the request's JSON object and returns the
response's. The execution data (``input``, ``output``) stays JSON text end to end: the input string
goes to the Rust core as it came, and the output comes back as text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .executions import ExecutionActions
from .machines import MachineActions
from .options import ServiceOptions

__all__ = ["ACTIONS", "Service", "ServiceOptions"]


class Service(MachineActions, ExecutionActions):
    """The actions over one store. One per worker process."""


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
