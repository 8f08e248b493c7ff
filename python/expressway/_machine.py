"""The embedded API: a compiled state machine and its executions."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import _context, _core
from ._context import check_name, execution_arn, execution_context, new_uuid, state_machine_arn
from ._driver import Driver, Start, TaskContext, VirtualClock, first_run, inline_args, wall_clock_ms
from ._errors import InvalidDefinition
from ._resources import Handler, Router
from ._result import Result

__all__ = [
    "DEFAULT_MAX_DURATION",
    "Execution",
    "StateMachine",
    "TaskContext",
    "VirtualClock",
    "validate",
]

Definition = str | bytes | Mapping[str, Any]
"""A definition: JSON text, or the parsed object."""

Clock = Callable[[], float]
"""Returns the time as milliseconds since the epoch. A clock that also has
``call_later(delay_s, callback, *args)`` (such as :class:`VirtualClock`) runs the execution's timers as
well; otherwise the event loop does."""

DEFAULT_MAX_DURATION = 300.0
"""Express workflows run for at most five minutes."""

MACHINE_TYPES = ("EXPRESS", "STANDARD")

_NOT_JSON = "INVALID_JSON_DESCRIPTION"

_BACKGROUND: set[asyncio.Task[None]] = set()


def _check_type(machine_type: str) -> str:
    if machine_type not in MACHINE_TYPES:
        raise ValueError(f"type must be 'EXPRESS' or 'STANDARD', not {machine_type!r}")
    return machine_type


def _definition_text(definition: Definition) -> str:
    if isinstance(definition, str):
        return definition
    if isinstance(definition, (bytes, bytearray)):
        try:
            return bytes(definition).decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"The definition is not valid UTF-8: {exc}"
            raise _not_json(message) from None
    if isinstance(definition, Mapping):
        try:
            return json.dumps(definition, ensure_ascii=False, allow_nan=False)
        except RecursionError:
            raise _not_json("The definition is nested too deeply to be encoded as JSON") from None
        except ValueError as exc:
            raise _not_json(f"The definition cannot be encoded as JSON: {exc}") from None
    raise TypeError(f"definition must be JSON text or a mapping, not {type(definition).__name__}")


def _not_json(message: str) -> InvalidDefinition:
    return InvalidDefinition(
        f"Invalid State Machine Definition: '{_NOT_JSON}: {message}'",
        _NOT_JSON,
        [{"severity": "ERROR", "code": _NOT_JSON, "message": message}],
    )


def validate(definition: Definition, type: str = "EXPRESS") -> list[dict[str, Any]]:
    """Every problem in ``definition`` (errors and warnings), as AWS's ValidateStateMachineDefinition
    reports them: dicts with ``severity``, ``code``, ``message`` and (usually) ``location``."""
    _check_type(type)
    try:
        text = _definition_text(definition)
    except InvalidDefinition as exc:
        return exc.diagnostics
    return list(_core.validate(text, type))


class StateMachine:
    """A state machine, compiled once and run any number of times.

    ``definition`` is the ASL document as JSON text or as a parsed object; ``type`` is ``"EXPRESS"``
    or ``"STANDARD"``. Raises :class:`InvalidDefinition` when AWS would reject the definition.
    """

    def __init__(
        self,
        definition: Definition,
        *,
        type: str = "EXPRESS",
        name: str | None = None,
        role_arn: str | None = None,
    ) -> None:
        self.type = _check_type(type)
        self.role_arn = role_arn or _context.ROLE_ARN
        """The role its executions run as (``$$.Execution.RoleArn``)."""
        self.name = check_name(name, "state machine") if name is not None else "expressway"
        self.arn = state_machine_arn(self.name)
        self.definition = _definition_text(definition)
        self._last_router: tuple[Any, Any, Router] | None = None
        try:
            self._program = _core.Program(self.definition, self.type)
        except _core.DefinitionError as exc:
            message, code, diagnostics = exc.args
            raise InvalidDefinition(message, code, diagnostics) from None
        self._timeout_s: float | None = self._program.timeout_seconds  # the definition's TimeoutSeconds
        self._uses_context: bool = self._program.uses_context  # whether any field reads $$

    def _fresh_names(self) -> tuple[str, str]:
        """A new execution's name (a UUID) and ARN."""
        return self._name_execution(None)

    def _name_execution(self, name: str | None) -> tuple[str, str]:
        """An execution's name (a UUID unless given) and ARN."""
        execution_name = name if name is not None else new_uuid()
        return execution_name, execution_arn(self.name, execution_name, self.type)

    def _router(self, tasks: Mapping[str, Handler] | None) -> Router:
        """A Router for ``tasks``: the last one again when ``tasks`` is the same mapping with the same
        contents (as in a loop of runs), so its lookups are not redone for every execution."""
        cached = self._last_router
        if cached is not None and cached[0] is tasks and cached[1] == tasks:
            return cached[2]
        router = Router(tasks)
        self._last_router = (tasks, dict(tasks) if tasks is not None else None, router)
        return router

    @property
    def start_at(self) -> str:
        return self._program.start_at

    def __repr__(self) -> str:
        return f"StateMachine(name={self.name!r}, type={self.type!r})"

    def _start(
        self,
        input: Any,
        input_json: str | None,
        tasks: Mapping[str, Handler] | None,
        time_scale: float,
        name: str | None,
        max_duration: float,
        seed: int | None,
        clock: Clock | None,
        *,
        router: Router | None = None,
        history: bool = False,
    ) -> Start:
        """A started execution for a Driver to take on from the start (plain calls are made by the core
        unless the history is recorded)."""
        execution, router, scale, clock_ms, start_ms, deadline_ms, naming = self._launch(
            input, input_json, tasks, time_scale, name, max_duration, seed, clock, router, history
        )
        inline = None if history else inline_args(router, clock_ms, deadline_ms, scale)
        return Start(execution, router, scale, clock_ms, start_ms, deadline_ms, naming, inline)

    def _begin(
        self,
        input: Any,
        input_json: str | None,
        tasks: Mapping[str, Handler] | None,
        time_scale: float,
        name: str | None,
        max_duration: float,
        seed: int | None,
        clock: Clock | None,
    ) -> Result | Driver:
        """Starts an execution and runs it as far as it goes at once: its Result when that ended it, else
        the Driver that goes on from there (see :func:`first_run`)."""
        return first_run(*self._launch(input, input_json, tasks, time_scale, name, max_duration, seed, clock))

    def _launch(
        self,
        input: Any,
        input_json: str | None,
        tasks: Mapping[str, Handler] | None,
        time_scale: float,
        name: str | None,
        max_duration: float,
        seed: int | None,
        clock: Clock | None,
        router: Router | None = None,
        history: bool = False,
    ) -> tuple[Any, Router, float, Clock, float, float, Callable[[], tuple[str, str]]]:
        """Checks the arguments and starts the core execution: (execution, router, time scale, clock,
        start and deadline in epoch milliseconds, what names it)."""
        if input_json is not None and input is not None:
            raise TypeError("give either input or input_json, not both")
        if time_scale < 0:
            raise ValueError("time_scale must be >= 0")
        if max_duration <= 0:
            raise ValueError("max_duration must be > 0")
        if router is None:
            router = self._router(tasks)
        if name is not None:
            check_name(name, "execution")
        # float: the service reports start and stop to the microsecond
        if clock is None:
            clock = wall_clock_ms
            start_ms = time.time() * 1000.0  # wall_clock_ms's own reading, without its call
        else:
            start_ms = clock()
        naming = self._fresh_names if name is None else functools.partial(self._name_execution, name)
        if self._uses_context or history:
            names = execution_name, arn = naming()
            naming = functools.partial(tuple, names)  # the driver must report these same names
            context: dict[str, Any] = execution_context(
                arn=arn,
                name=execution_name,
                start_ms=start_ms,
                machine_arn=self.arn,
                machine_name=self.name,
                role_arn=self.role_arn,
            )
        else:
            # Nothing reads the context: the execution's name and ARN are made only if asked for.
            context = {}
        try:  # (the core draws a seed when none is given)
            if input_json is not None:  # JSON text is parsed in the core
                execution = self._program.start(input_json, context, seed, history)
            else:  # a Python value is converted there directly, with no JSON text in between
                execution = self._program.start_value({} if input is None else input, context, seed, history)
        except ValueError as exc:
            raise ValueError(f"the execution input is not valid JSON: {exc}") from None
        # The definition's own TimeoutSeconds bounds the execution too, when it is shorter.
        limit_s = self._timeout_s
        if not limit_s or limit_s > max_duration:  # (0, like none, sets no limit of its own)
            limit_s = max_duration
        deadline_ms = start_ms + limit_s * 1000.0
        return execution, router, float(time_scale), clock, start_ms, deadline_ms, naming

    def run(
        self,
        input: Any = None,
        *,
        tasks: Mapping[str, Handler] | None = None,
        time_scale: float = 1.0,
        name: str | None = None,
        input_json: str | None = None,
        max_duration: float = DEFAULT_MAX_DURATION,
        seed: int | None = None,
        clock: Clock | None = None,
    ) -> Result:
        """Run one execution to its end and return its :class:`Result` (synchronous).

        ``input`` is the execution input as a JSON-like value (``None`` means ``{}``), or give
        ``input_json`` as JSON text instead. ``tasks`` maps resources or Lambda function names to
        handlers; a handler with a parameter named ``context`` also gets a :class:`TaskContext` (heartbeats).
        ``time_scale`` multiplies every Wait and retry pause (0 skips them). ``name`` is the execution
        name (a UUID by default). After ``max_duration`` seconds on ``clock`` (unscaled time: Waits count
        as ``time_scale`` makes them last) the execution is TIMED_OUT and everything in flight is
        cancelled. ``seed`` fixes the random numbers (``States.MathRandom``, ``States.UUID``, retry
        jitter); ``clock`` returns the time in epoch milliseconds (a :class:`VirtualClock` makes time
        pass instantly).

        Errors inside the execution are reported in the result, never raised. When no event loop is
        needed (sync handlers only, no real sleeps), none is created. Called from a thread that runs
        an event loop, the execution runs on a loop of its own in a worker thread.
        """
        driver = self._begin(input, input_json, tasks, time_scale, name, max_duration, seed, clock)
        if isinstance(driver, Result):
            return driver
        if not driver.drive_sync():
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                asyncio.run(driver.drive())
            else:
                with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="expressway") as pool:
                    pool.submit(asyncio.run, driver.drive()).result()
        return driver.result()

    async def execute(
        self,
        input: Any = None,
        *,
        tasks: Mapping[str, Handler] | None = None,
        time_scale: float = 1.0,
        name: str | None = None,
        input_json: str | None = None,
        max_duration: float = DEFAULT_MAX_DURATION,
        seed: int | None = None,
        clock: Clock | None = None,
    ) -> Result:
        """Run one execution on the running event loop and return its :class:`Result`.

        Same arguments as :meth:`run`. Cancelling the awaiting task aborts the execution, cancels
        every handler still running, and re-raises ``CancelledError``.
        """
        # As far as it goes without waiting, the execution runs here and now (no task, no timer);
        # drive() takes over at the first wait or yield.
        driver = self._begin(input, input_json, tasks, time_scale, name, max_duration, seed, clock)
        if isinstance(driver, Result):
            return driver
        if not driver.drive_sync(until_yield=True):
            await driver.drive()
        return driver.result()

    def start(
        self,
        input: Any = None,
        *,
        tasks: Mapping[str, Handler] | None = None,
        time_scale: float = 1.0,
        name: str | None = None,
        input_json: str | None = None,
        max_duration: float = DEFAULT_MAX_DURATION,
        seed: int | None = None,
        clock: Clock | None = None,
    ) -> Execution:
        """Start an execution in the background of the running event loop and return its
        :class:`Execution` handle, which can be awaited or stopped. Same arguments as :meth:`run`."""
        driver = self._start(input, input_json, tasks, time_scale, name, max_duration, seed, clock).driver()
        task = asyncio.get_running_loop().create_task(driver.drive())
        _BACKGROUND.add(task)  # the loop holds tasks weakly: keep started executions alive until they end
        task.add_done_callback(_BACKGROUND.discard)
        return Execution(driver, task)


class Execution:
    """A running execution (see :meth:`StateMachine.start`). ``await execution`` gives its Result."""

    def __init__(self, driver: Driver, task: asyncio.Task[None]) -> None:
        self._driver = driver
        self._task = task
        self.name = driver.name
        self.execution_arn = driver.arn

    def stop(self, error: str | None = None, cause: str | None = None) -> None:
        """Abort the execution (status ABORTED, with this error and cause); handlers still running are
        cancelled."""
        if not self._task.done():
            self._driver.request_stop(error, cause)

    def done(self) -> bool:
        return self._task.done()

    def send_task_success(self, task_token: str, output: Any = None) -> bool:
        """Completes the ``.waitForTaskToken`` task waiting for ``task_token`` (``$$.Task.Token``,
        which its handler was given) with ``output``. False when no task of this execution waits for
        it (it already ended, or the token is not this execution's)."""
        return self._driver.send_task_success(task_token, output)

    def send_task_failure(self, task_token: str, error: str | None = None, cause: str | None = None) -> bool:
        """Fails the ``.waitForTaskToken`` task waiting for ``task_token`` with ``error`` and ``cause``."""
        return self._driver.send_task_failure(task_token, error, cause)

    def send_task_heartbeat(self, task_token: str) -> bool:
        """Resets the HeartbeatSeconds clock of the task waiting for ``task_token``."""
        return self._driver.send_task_heartbeat(task_token)

    async def result(self) -> Result:
        """Wait for the end and return the Result. Cancelling this wait does not stop the execution."""
        await asyncio.shield(self._task)
        return self._driver.result()

    def __await__(self):  # type: ignore[no-untyped-def]
        return self.result().__await__()

    def __repr__(self) -> str:
        return f"Execution(name={self.name!r}, done={self.done()})"
