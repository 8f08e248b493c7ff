"""moto's ASL interpreter (the one moto took from LocalStack) as a same-run baseline.

moto runs a definition through ``StartExecution`` / ``StartSyncExecution`` when enabled with
``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})``; underneath, a
``SyncExecutionWorker`` parses the definition and evaluates the program in an ``Environment``.
``MotoRunner`` drives that worker directly with a program parsed once (the fairest comparison to
``expressway.StateMachine``, and what the reference figures call "definition parsed once").

W4's Lambda tasks cannot call Python handlers in moto (it would need Docker for Lambda), so they are
answered by moto's mocked-response mechanism (the Step Functions Local mock config): Flaky throws
CustomError on attempt 0 and returns ``{"ok": true, "calls": 2}`` on attempt 1; Fatal throws
FatalError. moto's retry pause is scaled to 0 (as ``time_scale=0`` does for expressway).
"""

from __future__ import annotations

import datetime
import itertools
import logging
import types
from typing import Any

_ACCOUNT = "123456789012"
_REGION = "us-east-1"
_ROLE = f"arn:aws:iam::{_ACCOUNT}:role/bench"


def available() -> bool:
    try:
        import moto.stepfunctions.parser.backend.execution_worker  # noqa: F401
    except ImportError:
        return False
    return True


def _no_retry_sleep() -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    retrier_decl.time = types.SimpleNamespace(sleep=lambda _seconds: None)


def _w4_mock_test_case():
    from moto.stepfunctions.parser.mocking.mock_config import (
        MockedResponseReturn,
        MockedResponseThrow,
        MockTestCase,
        StateMockedResponses,
    )

    flaky = StateMockedResponses(
        "Flaky",
        "FlakyOnce",
        [
            MockedResponseThrow(0, 0, "CustomError", "first attempt"),
            MockedResponseReturn(1, 1, {"Payload": {"ok": True, "calls": 2}, "StatusCode": 200}),
        ],
    )
    fatal = StateMockedResponses("Fatal", "AlwaysFatal", [MockedResponseThrow(0, 0, "FatalError", "fatal")])
    return MockTestCase("bench", "w4", [flaky, fatal])


class MotoRunner:
    """Runs executions of one definition, parsed once, through moto's SyncExecutionWorker."""

    def __init__(self, name: str, definition_json: str) -> None:
        from moto.stepfunctions.parser.api import StateMachineType
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
        from moto.stepfunctions.parser.backend.execution_worker import SyncExecutionWorker
        from moto.stepfunctions.parser.backend.execution_worker_comm import ExecutionWorkerCommunication

        _no_retry_sleep()
        # The interpreter logs every state at DEBUG; under pytest's log capture those records would be
        # built (10x slower). Outside pytest the root level (WARNING) drops them; do the same here.
        logging.getLogger("moto.stepfunctions").setLevel(logging.WARNING)
        self._definition = definition_json
        self._program = AmazonStateLanguageParser.parse(definition_json)[0]
        self._mock_test_case = _w4_mock_test_case() if name == "w4-task-retry" else None
        self._type = StateMachineType.EXPRESS
        self._arn = f"arn:aws:states:{_REGION}:{_ACCOUNT}:stateMachine:bench"
        self._names = itertools.count()
        program = self._program

        class _Comm(ExecutionWorkerCommunication):
            def terminated(self) -> None:
                pass

        class _Worker(SyncExecutionWorker):
            def _get_evaluation_entrypoint(self):
                return program

        self._comm_cls = _Comm
        self._worker_cls = _Worker

    def run(self, inp: Any) -> tuple[str, Any]:
        """One execution; returns (status, output or error)."""
        from moto.stepfunctions.parser.asl.eval.evaluation_details import (
            AWSExecutionDetails,
            EvaluationDetails,
            ExecutionDetails,
            StateMachineDetails,
        )
        from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded, ProgramError

        name = f"exec-{next(self._names)}"
        worker = self._worker_cls(
            evaluation_details=EvaluationDetails(
                aws_execution_details=AWSExecutionDetails(account=_ACCOUNT, region=_REGION, role_arn=_ROLE),
                execution_details=ExecutionDetails(
                    arn=f"arn:aws:states:{_REGION}:{_ACCOUNT}:express:bench:{name}",
                    name=name,
                    role_arn=_ROLE,
                    inpt=inp,
                    start_time=datetime.datetime.now(tz=datetime.UTC),
                ),
                state_machine_details=StateMachineDetails(
                    arn=self._arn, name="bench", typ=self._type, definition=self._definition
                ),
            ),
            exec_comm=self._comm_cls(),
            cloud_watch_logging_session=None,
            activity_store={},
            mock_test_case=self._mock_test_case,
        )
        worker.start()  # a SyncExecutionWorker evaluates on the calling thread
        state = worker.env.program_state()
        if isinstance(state, ProgramEnded):
            return "SUCCEEDED", worker.env.states.get_input()
        if isinstance(state, ProgramError):
            return "FAILED", state.error
        return type(state).__name__, None
