"""What every group of actions shares: the store, the options, the task handlers, the sibling
workers, the counters, and the lookups by ARN."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from .._resources import Handler, Router
from .checks import invalid_arn, parse_arn
from .options import ServiceOptions
from .peers import Peers
from .store import ExecutionRecord, MachineRecord, SharedMachines, Store

__all__ = ["ServiceBase"]


class ServiceBase:
    """The state of one worker's service; the actions are in the subclasses (see actions.py)."""

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

    def _machine(self, arn: str) -> MachineRecord:
        record = self.store.find(arn)
        if record is None:  # a stored machine's ARN is valid: only a miss needs the checks
            parse_arn(arn, "stateMachine")
            return self.store.machine(arn)
        return record

    def _execution(self, arn: str) -> ExecutionRecord:
        record = self.store.executions.get(arn)
        if record is not None and not self.options.aws_strict:
            return record
        kind, _ = parse_arn(arn, "execution", "express")
        if kind == "express" and self.options.aws_strict:
            raise invalid_arn("Resource type not valid in this context: express")
        return self.store.execution(arn)
