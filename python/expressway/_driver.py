"""Drives one core execution: performs the effects it asks for (task handlers, sleeps) and feeds the
outcomes back, until the execution is over.

The core is sans-IO: ``Execution.run(now_ms)`` steps the machine as far as it can and returns effects.
A sync handler is called inline (no asyncio task is made for it); an async one becomes a task; a
sleep becomes a timer. Outcomes are reported as they arrive and picked up by the next ``run``. A
``cancel`` effect (a sibling branch failed, a Map failed, the execution ended) cancels that token's task
and timers; whatever is left when the execution ends is cancelled and awaited before ``drive`` returns.
Timers run on the event loop, or on the clock when it has a ``call_later`` (:class:`VirtualClock`).

The commonest call, a sync handler that takes the payload alone, with no timeout or heartbeat, is made
by the extension itself (``Execution.run_inline``, given the router's ``plain`` handlers): it calls
the handler and reports the outcome as this module would, with no effect coming back here. (The core
crate stays free of I/O; its Python binding makes the call.)

Two modes share that logic. ``drive_sync`` runs without an event loop for as long as nothing needs
one (only sync handlers, no real sleeps), which lets ``StateMachine.run`` skip creating a loop;
async work met on the way is parked and started by ``drive``, which finishes the job on asyncio.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import inspect
import json
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ._errors import TaskFailed
from ._resources import (
    LAMBDA_INVOKE_WAIT,
    Route,
    Router,
    exception_outcome,
    lambda_invoke_result,
    marshal_error_outcome,
    returned_bytes,
)
from ._result import Result

__all__ = ["Driver", "Start", "TaskContext", "VirtualClock"]

_DONE, _AGAIN, _YIELD, _WAIT = range(4)
# What handlers usually return: never awaitable, so inspect.isawaitable (an ABC check) is skipped.
_PLAIN_RESULTS = frozenset((dict, list, str, int, float, bool, type(None)))


def wall_clock_ms() -> float:
    """The default clock: the wall clock, in epoch milliseconds."""
    return time.time() * 1000.0


class _Job:
    """Something in flight for a token: an asyncio task (an async handler) and/or its timers (a sleep's
    wake-up or a task's timeout) and a task's heartbeat timer."""

    __slots__ = ("beat", "callback", "heartbeat_s", "task", "timer")

    def __init__(
        self,
        task: asyncio.Future[Any] | None,
        timer: TimerHandle | None,
        heartbeat_s: float | None = None,
        callback: str | None = None,
    ) -> None:
        self.task = task
        self.timer = timer
        self.heartbeat_s = heartbeat_s
        self.beat: TimerHandle | None = None
        # A .waitForTaskToken task's token: the job lasts until the token comes back.
        self.callback = callback


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class TaskContext:
    """What a handler that accepts a keyword argument named ``context`` is given: the task's
    ``state_name``, ``resource`` and ``token``, its ``timeout_seconds`` and ``heartbeat_seconds`` (or
    None), the execution's ``execution_name`` and ``execution_arn``, and :meth:`heartbeat`. In a
    ``.waitForTaskToken`` task, ``task_token`` is ``$$.Task.Token`` (None otherwise)."""

    __slots__ = (
        "_driver",
        "execution_arn",
        "execution_name",
        "heartbeat_seconds",
        "resource",
        "state_name",
        "task_token",
        "timeout_seconds",
        "token",
    )

    def __init__(
        self,
        driver: Driver,
        token: int,
        state_name: str,
        resource: str,
        timeout_seconds: float | None,
        heartbeat_seconds: float | None,
        task_token: str | None = None,
    ) -> None:
        self._driver = driver
        self.token = token
        self.task_token = task_token
        self.state_name = state_name
        self.resource = resource
        self.timeout_seconds = timeout_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.execution_name = driver.name
        self.execution_arn = driver.arn

    def heartbeat(self) -> None:
        """Tell the execution the task is alive: with ``HeartbeatSeconds``, a task that goes longer than
        that without a heartbeat fails with ``States.HeartbeatTimeout``. Harmless without it."""
        self._driver._heartbeat(self.token)

    def send_task_success(self, output: Any = None) -> bool:
        """Brings this ``.waitForTaskToken`` task's token back with ``output`` (now, or later from a
        task the handler started): the task succeeds. False if it is not waiting (any more)."""
        return self.task_token is not None and self._driver.send_task_success(self.task_token, output)

    def send_task_failure(self, error: str | None = None, cause: str | None = None) -> bool:
        """Brings this ``.waitForTaskToken`` task's token back as a failure with ``error`` and ``cause``."""
        return self.task_token is not None and self._driver.send_task_failure(self.task_token, error, cause)

    def __repr__(self) -> str:
        return f"TaskContext(state_name={self.state_name!r}, token={self.token})"


class _VirtualHandle:
    __slots__ = ("_cancelled", "args", "callback", "due")

    def __init__(self, due: float, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.due = due
        self.callback = callback
        self.args = args
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    def cancelled(self) -> bool:
        return self._cancelled


class VirtualClock:
    """A clock for tests in which time passes instantly.

    Called, it returns the time in epoch milliseconds (``now``), like any ``clock``. Given as
    ``clock=`` to ``run``/``execute``/``start``, it also runs the execution's timers: Wait and retry
    pauses, task timeouts and heartbeats, and the execution's maximum duration. Time moves only when
    :meth:`advance` is called or, with ``auto=True`` (the default), when timers are pending and the
    event loop has nothing else ready to run: the clock then jumps straight to the earliest timer.
    A handler that wants virtual time to pass awaits :meth:`sleep`; real awaits (``asyncio.sleep``,
    I/O) take no virtual time, and virtual time may jump ahead while they are pending.
    """

    def __init__(self, start_ms: float = 1_790_000_000_000.0, *, auto: bool = True) -> None:
        self.now = float(start_ms)
        self.auto = auto
        self._heap: list[tuple[float, int, _VirtualHandle]] = []
        self._seq = 0
        self._pump_loop: asyncio.AbstractEventLoop | None = None
        self._idle = 0

    def __call__(self) -> float:
        return self.now

    @property
    def pending(self) -> int:
        """How many timers are waiting to fire (cancelled ones not counted)."""
        return sum(1 for _, _, handle in self._heap if not handle.cancelled())

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> _VirtualHandle:
        """Call ``callback(*args)`` once the clock has moved ``delay`` seconds on."""
        handle = _VirtualHandle(self.now + max(0.0, delay) * 1000.0, callback, args)
        heapq.heappush(self._heap, (handle.due, self._seq, handle))
        self._seq += 1
        self._kick()
        return handle

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of virtual time."""
        future = asyncio.get_running_loop().create_future()
        handle = self.call_later(seconds, _resolve, future)
        try:
            await future
        finally:
            handle.cancel()

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` on, running the timers that fall due on the way, in order."""
        target = self.now + seconds * 1000.0
        while (handle := self._next()) is not None and handle.due <= target:
            self._fire()
        self.now = max(self.now, target)

    def _next(self) -> _VirtualHandle | None:
        heap = self._heap
        while heap and heap[0][2].cancelled():
            heapq.heappop(heap)
        return heap[0][2] if heap else None

    def _fire(self) -> None:
        _, _, handle = heapq.heappop(self._heap)
        handle.cancel()
        self.now = max(self.now, handle.due)
        handle.callback(*handle.args)

    def _kick(self) -> None:
        if not self.auto:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._pump_loop is loop:
            return
        self._pump_loop = loop
        self._idle = 0
        loop.call_soon(self._hop)

    def _hop(self) -> None:
        loop = self._pump_loop
        if loop is None or self._next() is None:
            self._pump_loop = None
            return
        ready = getattr(loop, "_ready", None)  # CPython's queue of callbacks ready to run
        if ready is None or not ready:
            self._idle += 1
        else:
            self._idle = 0
        if self._idle >= (2 if ready is not None else 50):
            self._idle = 0
            self._fire()
        loop.call_soon(self._hop)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _retrieve(orphans: set[asyncio.Future[Any]], task: asyncio.Future[Any]) -> None:
    orphans.discard(task)
    if not task.cancelled():
        task.exception()  # a cancelled handler that raised something else: nothing to report it to


class Driver:
    __slots__ = (
        "_beats",
        "_callbacks",
        "_calling",
        "_clock",
        "_clock_later",
        "_deadline_ms",
        "_deadline_timer",
        "_end_ms",
        "_ex",
        "_expired",
        "_inline",
        "_jobs",
        "_loop",
        "_names",
        "_naming",
        "_orphans",
        "_parked",
        "_pending",
        "_progress",
        "_router",
        "_start_ms",
        "_stop_request",
        "_time_scale",
        "_waiter",
        "token_listener",
    )

    def __init__(self, start: Start) -> None:
        """Drives the execution of ``start`` from where it is (see :meth:`Start.driver`)."""
        self._ex = start.execution
        self._router = start.router
        self._inline = start.inline  # Execution.run_inline's arguments, or None (see Start)
        # The effects of a first run made before the driver existed (first_run).
        self._pending = start.pending
        self._time_scale = start.time_scale
        self._clock = clock = start.clock
        # A clock with a call_later runs the timers too (VirtualClock); otherwise the event loop does.
        self._clock_later: Callable[..., TimerHandle] | None = getattr(clock, "call_later", None)
        self._deadline_ms = start.deadline_ms
        self._start_ms = start.start_ms
        self._end_ms: float | None = None
        # The execution's (name, ARN): made when first asked for (most runs never ask).
        self._naming = start.naming
        self._names: tuple[str, str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._jobs: dict[int, _Job] = {}
        # Last heartbeat (clock ms) of the sync handler running now, by token.
        self._beats: dict[int, float] = {}
        # Async work met while driving without a loop: ("call", token, awaitable, timeout_s, heartbeat_s,
        # shape) or ("sleep", token, due) with due on the clock, in milliseconds.
        self._parked: list[tuple[Any, ...]] = []
        self._orphans: set[asyncio.Future[Any]] = set()
        self._waiter: asyncio.Future[None] | None = None
        self._deadline_timer: TimerHandle | None = None
        self._progress = False
        self._expired = False
        self._stop_request: tuple[str | None, str | None] | None = None
        # .waitForTaskToken tasks waiting for their token: task token -> core token; and the tokens
        # whose handler call is under way (an answer sent back during it waits for the call's end).
        self._callbacks: dict[str, int] = {}
        self._calling: dict[int, list[Callable[[], None]]] = {}
        self.token_listener: Callable[[str, str], None] | None = None
        """Told ``(task_token, "waiting" | "done" | "timed_out")`` as tokens come and go (the service
        finds a token's execution with it)."""

    def _later(self, delay: float, callback: Callable[..., Any], *args: Any) -> TimerHandle:
        if self._clock_later is not None:
            return self._clock_later(delay, callback, *args)
        assert self._loop is not None
        return self._loop.call_later(delay, callback, *args)

    # ---------------------------------------------------------------- reporting outcomes

    def _complete(self, token: int, value: Any, shape: Callable[[Any], Any] | None) -> None:
        try:
            if isinstance(value, (bytes, bytearray)):
                value = returned_bytes(value)
            if shape is not None:
                value = shape(value)
            self._ex.complete(token, value)
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            self._ex.fail(token, *marshal_error_outcome(exc, shape is lambda_invoke_result))
        self._progress = True

    def _fail_by(self, token: int, exc: BaseException, shape: Callable[[Any], Any] | None = None) -> None:
        """A handler's exception fails its task. Its Lambda-style cause (the error document, most of
        what a failure costs) is written only if something will read it: not for a failure that a
        retrier takes and no history records.

        The exception's traceback is dropped once read: its frames (the driver's among them) would
        otherwise hold the exception in a cycle that only the garbage collector can free."""
        try:
            if not isinstance(exc, TaskFailed):
                error = type(exc).__name__
                if self._ex.failure_goes_unseen(token, error):
                    self._fail(token, error, None)
                    return
            # lambda:invoke re-serialises the function's error document without spaces.
            self._fail(token, *exception_outcome(exc, shape is lambda_invoke_result))
        finally:
            exc.__traceback__ = None

    def _fail(self, token: int, error: str, cause: str | None) -> None:
        self._ex.fail(token, error, cause)
        self._progress = True

    def _wake_up(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ---------------------------------------------------------------- effects

    def _call(
        self,
        route: Route,
        argument: Any,
        token: int,
        state: str,
        resource: str,
        timeout_s: float | None,
        heartbeat_s: float | None,
        task_token: str | None = None,
    ) -> Any:
        """Calls the route's handler, with a TaskContext when it takes one."""
        assert route.handler is not None
        if route.wants_context:
            context = TaskContext(self, token, state, resource, timeout_s, heartbeat_s, task_token)
            return route.handler(argument, context=context)
        return route.handler(argument)

    def _invoke(
        self,
        token: int,
        resource: str,
        payload: Any,
        timeout_s: float | None,
        heartbeat_s: float | None,
        state: str,
    ) -> None:
        route, argument = self._router.route(resource, payload, state)
        if route.handler is None:
            self._fail(token, route.error, route.cause)
            return
        timed = timeout_s is not None or heartbeat_s is not None
        started = self._clock() if timed else 0.0
        if heartbeat_s is not None:
            self._beats[token] = started
        try:
            value = self._call(route, argument, token, state, resource, timeout_s, heartbeat_s)
        except Exception as exc:  # noqa: BLE001 - any handler error fails the task
            self._beats.pop(token, None)
            self._fail_by(token, exc, route.shape)
            return
        if type(value) not in _PLAIN_RESULTS and inspect.isawaitable(value):
            self._beats.pop(token, None)
            self._start_call(token, value, timeout_s, heartbeat_s, route.shape)
            return
        if timed:
            # A sync handler cannot be interrupted: see afterwards whether it ran past a limit.
            last_beat = self._beats.pop(token, started)
            timeout_due = started + timeout_s * 1000.0 if timeout_s is not None else math.inf
            beat_due = last_beat + heartbeat_s * 1000.0 if heartbeat_s is not None else math.inf
            if self._clock() > min(timeout_due, beat_due):
                error = "States.HeartbeatTimeout" if beat_due < timeout_due else "States.Timeout"
                self._fail(token, error, None)
                return
        self._complete(token, value, route.shape)

    def _take_result(self, token: int, value: Any) -> None:
        """What a plain handler the core called returned, when the core left it to the driver: an
        awaitable, or a value that is not JSON data."""
        if inspect.isawaitable(value):
            self._start_call(token, value, None, None, None)
        else:
            self._complete(token, value, None)

    def _start_call(
        self,
        token: int,
        awaitable: Awaitable[Any],
        timeout_s: float | None,
        heartbeat_s: float | None,
        shape: Callable[[Any], Any] | None,
    ) -> None:
        """An async handler's call becomes a task (parked until ``drive`` runs, without a loop)."""
        if self._loop is None:
            self._parked.append(("call", token, awaitable, timeout_s, heartbeat_s, shape))
            return
        task = asyncio.ensure_future(awaitable)
        job = self._jobs[token] = _Job(task, None, heartbeat_s)
        task.add_done_callback(functools.partial(self._on_call_done, token, shape))
        self._arm_timers(token, job, timeout_s)

    def _arm_timers(self, token: int, job: _Job, timeout_s: float | None) -> None:
        """A task's TimeoutSeconds timer, and its first HeartbeatSeconds timer."""
        if timeout_s is not None:
            job.timer = self._later(timeout_s, self._on_call_timeout, token, "States.Timeout")
        if job.heartbeat_s is not None:
            job.beat = self._later(job.heartbeat_s, self._on_call_timeout, token, "States.HeartbeatTimeout")

    def _heartbeat(self, token: int) -> None:
        if token in self._beats:
            self._beats[token] = self._clock()
            return
        job = self._jobs.get(token)
        if job is None or job.beat is None:
            return
        job.beat.cancel()
        self._arm_timers(token, job, None)

    def _on_call_done(
        self, token: int, shape: Callable[[Any], Any] | None, task: asyncio.Future[Any]
    ) -> None:
        job = self._jobs.get(token)
        if job is None or job.task is not task:
            return  # timed out, cancelled, or the execution is over
        del self._jobs[token]
        self._cancel_timers(job)
        if task.cancelled():
            self._fail(token, "States.TaskFailed", "The task handler was cancelled")
        elif (exc := task.exception()) is not None:
            self._fail_by(token, exc, shape)
        else:
            self._complete(token, task.result(), shape)
        self._wake_up()

    def _on_call_timeout(self, token: int, error: str) -> None:
        job = self._jobs.pop(token, None)
        if job is None or (job.task is None and job.callback is None):
            return
        self._drop(job)
        if job.callback is not None:
            self._forget_callback(job.callback, "timed_out")
        self._fail(token, error, None)
        self._wake_up()

    @staticmethod
    def _cancel_timers(job: _Job) -> None:
        if job.timer is not None:
            job.timer.cancel()
        if job.beat is not None:
            job.beat.cancel()

    def _drop(self, job: _Job) -> None:
        """Cancel a job's timers and its task; the task is awaited when the execution ends."""
        self._cancel_timers(job)
        task = job.task
        if task is not None and not task.done():
            task.cancel()
            self._orphans.add(task)
            task.add_done_callback(functools.partial(_retrieve, self._orphans))

    def _cancel(self, token: int) -> None:
        """The core no longer wants this task or timer."""
        job = self._jobs.pop(token, None)
        if job is not None:
            self._drop(job)
            if job.callback is not None:
                self._forget_callback(job.callback, "done")
            return
        if self._parked:
            kept = []
            for item in self._parked:
                if item[1] == token:
                    _close_parked(item)
                else:
                    kept.append(item)
            self._parked = kept

    # ---------------------------------------------------------------- .waitForTaskToken

    def _invoke_callback(
        self,
        token: int,
        resource: str,
        payload: Any,
        timeout_s: float | None,
        heartbeat_s: float | None,
        state: str,
        task_token: str,
    ) -> None:
        """A task that waits for its token: the call goes out (to a handler, when there is one; a
        service integration without one just waits), then the task waits for send_task_success /
        send_task_failure, bounded by its TimeoutSeconds and HeartbeatSeconds."""
        route, argument = self._router.route(resource, payload, state)
        if route.handler is None and resource == LAMBDA_INVOKE_WAIT:
            self._fail(token, route.error, route.cause)  # a Lambda function that does not exist
            return
        job = self._jobs[token] = _Job(None, None, heartbeat_s, callback=task_token)
        self._arm_timers(token, job, timeout_s)
        self._callbacks[task_token] = token
        if self.token_listener is not None:
            self.token_listener(task_token, "waiting")
        handler = route.handler
        if handler is None:
            self._ex.submitted(token, {})
            self._progress = True
            return
        self._calling[token] = []
        try:
            value = self._call(route, argument, token, state, resource, timeout_s, heartbeat_s, task_token)
        except Exception as exc:  # noqa: BLE001 - the call failed: so does the task
            self._calling.pop(token, None)
            self._end_callback(token, task_token)
            self._fail_by(token, exc)
            return
        if inspect.isawaitable(value):
            job.task = asyncio.ensure_future(value)
            job.task.add_done_callback(
                functools.partial(self._on_submit_done, token, task_token, route.shape)
            )
            return
        self._submitted(token, value, route.shape)

    def _on_submit_done(
        self, token: int, task_token: str, shape: Callable[[Any], Any] | None, task: asyncio.Future[Any]
    ) -> None:
        job = self._jobs.get(token)
        if job is None or job.task is not task:
            return  # answered, timed out or cancelled meanwhile
        job.task = None
        if task.cancelled() or task.exception() is not None:
            self._calling.pop(token, None)
            self._end_callback(token, task_token)
            exc = None if task.cancelled() else task.exception()
            if exc is None:
                self._fail(token, "States.TaskFailed", "The task handler was cancelled")
            else:
                self._fail_by(token, exc)
        else:
            self._submitted(token, task.result(), shape)
        self._wake_up()

    def _submitted(self, token: int, value: Any, shape: Callable[[Any], Any] | None) -> None:
        try:
            self._ex.submitted(token, shape(value) if shape is not None else value)
        except (TypeError, ValueError, OverflowError, RecursionError):
            self._ex.submitted(token, None)  # the call's response only goes to the history
        self._progress = True
        for answer in self._calling.pop(token, ()):
            answer()  # the token came back while the call was still under way

    def _end_callback(self, token: int, task_token: str) -> None:
        job = self._jobs.pop(token, None)
        if job is not None:
            self._drop(job)
        self._forget_callback(task_token, "done")

    def _forget_callback(self, task_token: str, why: str) -> None:
        if self._callbacks.pop(task_token, None) is not None and self.token_listener is not None:
            self.token_listener(task_token, why)

    def _answer(self, task_token: str, report: Callable[[int], None]) -> bool:
        token = self._callbacks.get(task_token)
        if token is None:
            return False

        def deliver() -> None:
            self._end_callback(token, task_token)
            report(token)
            self._progress = True
            self._wake_up()

        waiting = self._calling.get(token)
        if waiting is not None:
            waiting.append(deliver)
        else:
            deliver()
        return True

    def send_task_success(
        self, task_token: str, output: Any = None, *, output_json: str | None = None
    ) -> bool:
        """Completes the ``.waitForTaskToken`` task of ``task_token`` with ``output`` (a JSON-like
        value, or ``output_json`` as text: ValueError if it is not JSON). False when no task of this
        execution waits for that token. Call it on the execution's event loop (or from a handler)."""
        if output_json is not None:
            output = json.loads(output_json)
        return self._answer(task_token, lambda token: self._complete(token, output, None))

    def send_task_failure(self, task_token: str, error: str | None = None, cause: str | None = None) -> bool:
        """Fails the ``.waitForTaskToken`` task of ``task_token`` with ``error`` and ``cause``."""
        return self._answer(task_token, lambda token: self._fail(token, error or "", cause))

    def send_task_heartbeat(self, task_token: str) -> bool:
        """Tells the ``.waitForTaskToken`` task of ``task_token`` that its work goes on (HeartbeatSeconds)."""
        token = self._callbacks.get(task_token)
        if token is None:
            return False
        self._heartbeat(token)
        return True

    def _sleep(self, token: int, seconds: float) -> None:
        delay = seconds * self._time_scale
        if delay <= 0:
            self._ex.wake(token)
            self._progress = True
        elif self._loop is None:
            self._parked.append(("sleep", token, self._clock() + delay * 1000.0))
        else:
            self._jobs[token] = _Job(None, self._later(delay, self._on_wake, token))

    def _on_wake(self, token: int) -> None:
        if self._jobs.pop(token, None) is None:
            return
        self._ex.wake(token)
        self._progress = True
        self._wake_up()

    def _on_deadline(self) -> None:
        self._expired = True
        self._wake_up()

    # ---------------------------------------------------------------- stepping

    def _pump(self) -> int:
        """One ``run`` of the core and the effects it returns (or the effects of the run made before
        the driver existed, which are performed first, as they would have been then)."""
        ex = self._ex
        yielded = False
        pending = self._pending
        if pending is not None:
            self._pending = None
            effects, self._progress = pending
        else:
            now = self._clock()
            if self._stop_request is not None:
                ex.stop(*self._stop_request, now_ms=int(now))
                return _DONE
            if self._expired or now >= self._deadline_ms:
                ex.time_out(now_ms=int(now))
                return _DONE
            # A handler the core calls may report progress itself (answering a task token).
            self._progress = False
            if self._inline is not None:
                effects, progressed = ex.run_inline(int(now), *self._inline)
                if progressed:
                    self._progress = True
            else:
                effects = ex.run(int(now))
        for effect in effects:
            kind = effect[0]
            if kind == "invoke":
                if effect[7] is None:
                    self._invoke(effect[1], effect[2], effect[3], effect[4], effect[5], effect[6])
                elif self._loop is None:  # waiting for a token needs the event loop
                    self._parked.append(("callback", *effect[1:]))
                else:
                    self._invoke_callback(*effect[1:])
            elif kind == "sleep":
                self._sleep(effect[1], effect[2])
            elif kind == "cancel":
                self._cancel(effect[1])
            elif kind == "yield":
                yielded = True
            elif kind == "done":
                return _DONE
            elif kind == "result":
                self._take_result(effect[1], effect[2])
        if yielded:
            return _YIELD
        return _AGAIN if self._progress else _WAIT

    def request_stop(self, error: str | None = None, cause: str | None = None) -> None:
        """Abort the execution (status ABORTED) at the driver's next step."""
        self._stop_request = (error, cause)
        self._ex.ask_stop()  # a handler the core is calling asked: the core hands back first
        self._wake_up()

    def drive_sync(self, *, until_yield: bool = False) -> bool:
        """Drive without an event loop as far as possible; True when the execution is over. With
        ``until_yield``, also stop where the core hands control back after many transitions (on a
        shared event loop, other executions must get their turn: ``drive`` carries on)."""
        while True:
            step = self._pump()
            if step == _DONE:
                self._finish()
                self._discard_parked()
                return True
            if step == _WAIT or (until_yield and step == _YIELD):
                return False

    async def drive(self) -> None:
        """Drive to the end on the running event loop. Cancelling it aborts the execution and
        cancels everything in flight, then re-raises ``CancelledError``."""
        loop = self._loop = asyncio.get_running_loop()
        try:
            self._start_parked()
            while True:
                step = self._pump()
                if step == _DONE:
                    return
                if step == _AGAIN:
                    continue
                if step == _YIELD:
                    await asyncio.sleep(0)
                    continue
                if not self._jobs:
                    # Nothing in flight and nothing to do: cannot happen unless the core is wrong.
                    self._ex.stop(
                        "States.Runtime", "expressway: the execution stalled with nothing in flight"
                    )
                    return
                if self._deadline_timer is None:
                    remaining = max(0.0, (self._deadline_ms - self._clock()) / 1000.0)
                    self._deadline_timer = self._later(remaining, self._on_deadline)
                self._waiter = loop.create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
        except asyncio.CancelledError:
            if self._ex.status == "RUNNING":
                self._ex.stop(None, None)
            raise
        finally:
            self._finish()
            if self._deadline_timer is not None:
                self._deadline_timer.cancel()
            await self._cancel_all()

    def _start_parked(self) -> None:
        loop = self._loop
        assert loop is not None
        parked, self._parked = self._parked, []
        now = self._clock()
        for item in parked:
            if item[0] == "call":
                self._start_call(item[1], item[2], item[3], item[4], item[5])
            elif item[0] == "callback":
                self._invoke_callback(*item[1:])
            else:
                token, due = item[1], item[2]
                delay = max(0.0, (due - now) / 1000.0)
                self._jobs[token] = _Job(None, self._later(delay, self._on_wake, token))

    def _discard_parked(self) -> None:
        parked, self._parked = self._parked, []
        for item in parked:
            _close_parked(item)

    async def _cancel_all(self) -> None:
        self._discard_parked()
        for task_token in list(self._callbacks):
            self._forget_callback(task_token, "done")
        jobs, self._jobs = self._jobs, {}
        for job in jobs.values():
            self._drop(job)
        while self._orphans:
            tasks = list(self._orphans)
            await asyncio.gather(*tasks, return_exceptions=True)
            self._orphans.difference_update(tasks)

    # ---------------------------------------------------------------- the outcome

    @property
    def names(self) -> tuple[str, str]:
        if self._names is None:
            self._names = self._naming()
        return self._names

    @property
    def name(self) -> str:
        return self.names[0]

    @property
    def arn(self) -> str:
        return self.names[1]

    @property
    def core(self) -> Any:
        """The core execution (status, output_json, error, cause, history_json), for the service."""
        return self._ex

    @property
    def start_ms(self) -> float:
        return self._start_ms

    @property
    def end_ms(self) -> float | None:
        """When the execution ended (clock milliseconds), or None while it runs."""
        return self._end_ms

    def _finish(self) -> None:
        if self._end_ms is None:
            self._end_ms = self._clock()

    def result(self) -> Result:
        end = self._end_ms if self._end_ms is not None else self._clock()
        return self._ex.result(self._start_ms, end, lambda: self.names)


def inline_args(
    router: Router, clock: Callable[[], float], deadline_ms: float, time_scale: float
) -> tuple[Any, ...]:
    """What Execution.run_inline takes after the time: the plain sync handlers, which the core calls
    itself, and the clock it reads between rounds with its factor to milliseconds (the wall clock's
    own function, in seconds, spares a Python call a round)."""
    if clock is wall_clock_ms:
        return (router.plain, time.time, 1000.0, deadline_ms, time_scale == 0)
    return (router.plain, clock, 1.0, deadline_ms, time_scale == 0)


class Start:
    """A started core execution, before anything drives it: what the Driver takes over. ``inline`` is
    Execution.run_inline's arguments after the time (:func:`inline_args`), or None when every call
    goes through the driver (the history is recorded); ``pending`` is what a first run left."""

    __slots__ = (
        "clock",
        "deadline_ms",
        "execution",
        "inline",
        "naming",
        "pending",
        "router",
        "start_ms",
        "time_scale",
    )

    def __init__(
        self,
        execution: Any,
        router: Router,
        time_scale: float,
        clock: Callable[[], float],
        start_ms: float,
        deadline_ms: float,
        naming: Callable[[], tuple[str, str]],
        inline: tuple[Any, ...] | None,
        pending: tuple[list[tuple[Any, ...]], bool] | None = None,
    ) -> None:
        self.execution = execution
        self.router = router
        self.time_scale = time_scale
        self.clock = clock
        self.start_ms = start_ms
        self.deadline_ms = deadline_ms
        self.naming = naming
        self.inline = inline
        self.pending = pending

    def driver(self) -> Driver:
        """The Driver that takes the execution on from the start."""
        return Driver(self)


def first_run(
    execution: Any,
    router: Router,
    time_scale: float,
    clock: Callable[[], float],
    start_ms: float,
    deadline_ms: float,
    naming: Callable[[], tuple[str, str]],
) -> Result | Driver:
    """The first run of a just started execution, at its start time, with plain calls made by the
    core: its Result when that ended it (most executions of plain sync handlers end there, with no
    Driver made), else the Driver that goes on from there with the run's effects. (Callers keep only
    what it returns: a Start held during a long execution would keep that first run's effects alive.)"""
    inline = inline_args(router, clock, deadline_ms, time_scale)
    effects, progressed = execution.run_inline(int(start_ms), *inline)
    if len(effects) == 1 and effects[0][0] == "done":
        return execution.result(start_ms, clock(), naming)
    pending = (effects, progressed)
    return Driver(Start(execution, router, time_scale, clock, start_ms, deadline_ms, naming, inline, pending))


def _close_parked(item: tuple[Any, ...]) -> None:
    if item[0] == "call" and inspect.iscoroutine(item[2]):
        item[2].close()
