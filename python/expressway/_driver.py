"""Drives one core execution: performs the effects it asks for (task handlers, sleeps) and feeds the
outcomes back, until the execution is over.

The core is sans-IO: ``Execution.run(now_ms)`` steps the machine as far as it can and returns effects.
A sync handler is called inline (no asyncio task is made for it); an async one becomes a task; a
sleep becomes a timer. Outcomes are reported as they arrive and picked up by the next ``run``.

Two modes share that logic. ``drive_sync`` runs without an event loop for as long as nothing needs
one (only sync handlers, no real sleeps), which lets ``StateMachine.run`` skip creating a loop;
async work met on the way is parked and started by ``drive``, which finishes the job on asyncio.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ._resources import Router, exception_outcome, marshal_error_outcome
from ._result import Result

__all__ = ["Driver"]

_DONE, _AGAIN, _YIELD, _WAIT = range(4)


class _Job:
    """Something in flight for a token: an asyncio task (an async handler) and/or a timer."""

    __slots__ = ("task", "timer")

    def __init__(self, task: asyncio.Future[Any] | None, timer: asyncio.TimerHandle | None) -> None:
        self.task = task
        self.timer = timer


class Driver:
    def __init__(
        self,
        execution: Any,
        router: Router,
        *,
        time_scale: float,
        clock: Callable[[], float],
        start_ms: int,
        deadline_ms: float,
        name: str,
        arn: str,
    ) -> None:
        self._ex = execution
        self._router = router
        self._time_scale = time_scale
        self._clock = clock
        self._deadline_ms = deadline_ms
        self._start_ms = start_ms
        self._end_ms: float | None = None
        self.name = name
        self.arn = arn
        self._loop: asyncio.AbstractEventLoop | None = None
        self._jobs: dict[int, _Job] = {}
        # Async work met while driving without a loop: ("call", token, awaitable, timeout_s, shape)
        # or ("sleep", token, due) with due on time.monotonic().
        self._parked: list[tuple[Any, ...]] = []
        self._orphans: set[asyncio.Future[Any]] = set()
        self._waiter: asyncio.Future[None] | None = None
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._progress = False
        self._expired = False
        self._stop_request: tuple[str | None, str | None] | None = None

    # ---------------------------------------------------------------- reporting outcomes

    def _complete(self, token: int, value: Any, shape: Callable[[Any], Any] | None) -> None:
        try:
            if shape is not None:
                value = shape(value)
            self._ex.complete(token, value)
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            self._ex.fail(token, *marshal_error_outcome(exc))
        self._progress = True

    def _fail(self, token: int, error: str, cause: str | None) -> None:
        self._ex.fail(token, error, cause)
        self._progress = True

    def _wake_up(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ---------------------------------------------------------------- effects

    def _invoke(self, token: int, resource: str, payload: Any, timeout_s: float | None, state: str) -> None:
        route = self._router.route(resource, payload, state)
        handler = route.handler
        if handler is None:
            self._fail(token, route.error, route.cause)
            return
        started = self._clock() if timeout_s is not None else 0.0
        try:
            value = handler(route.argument)
        except Exception as exc:  # noqa: BLE001 - any handler error fails the task
            self._fail(token, *exception_outcome(exc))
            return
        if inspect.isawaitable(value):
            if self._loop is None:
                self._parked.append(("call", token, value, timeout_s, route.shape))
            else:
                self._start_call(token, value, timeout_s, route.shape)
            return
        if timeout_s is not None and self._clock() - started > timeout_s * 1000.0:
            self._fail(token, "States.Timeout", None)
            return
        self._complete(token, value, route.shape)

    def _start_call(
        self,
        token: int,
        awaitable: Awaitable[Any],
        timeout_s: float | None,
        shape: Callable[[Any], Any] | None,
    ) -> None:
        assert self._loop is not None
        task = asyncio.ensure_future(awaitable)
        job = self._jobs[token] = _Job(task, None)
        task.add_done_callback(functools.partial(self._on_call_done, token, shape))
        if timeout_s is not None:
            job.timer = self._loop.call_later(timeout_s, self._on_call_timeout, token)

    def _on_call_done(
        self, token: int, shape: Callable[[Any], Any] | None, task: asyncio.Future[Any]
    ) -> None:
        job = self._jobs.get(token)
        if job is None or job.task is not task:
            return  # timed out, or the execution is over
        del self._jobs[token]
        if job.timer is not None:
            job.timer.cancel()
        if task.cancelled():
            self._fail(token, "States.TaskFailed", "The task handler was cancelled")
        elif (exc := task.exception()) is not None:
            self._fail(token, *exception_outcome(exc))
        else:
            self._complete(token, task.result(), shape)
        self._wake_up()

    def _on_call_timeout(self, token: int) -> None:
        job = self._jobs.pop(token, None)
        if job is None or job.task is None:
            return
        job.task.cancel()
        self._orphans.add(job.task)
        job.task.add_done_callback(self._orphans.discard)
        self._fail(token, "States.Timeout", None)
        self._wake_up()

    def _sleep(self, token: int, seconds: float) -> None:
        delay = seconds * self._time_scale
        if delay <= 0:
            self._ex.wake(token)
            self._progress = True
        elif self._loop is None:
            self._parked.append(("sleep", token, time.monotonic() + delay))
        else:
            self._jobs[token] = _Job(None, self._loop.call_later(delay, self._on_wake, token))

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
        """One ``run`` of the core and the effects it returns."""
        ex = self._ex
        if self._stop_request is not None:
            ex.stop(*self._stop_request)
            return _DONE
        now = self._clock()
        if self._expired or now >= self._deadline_ms:
            ex.time_out()
            return _DONE
        self._progress = False
        yielded = False
        for effect in ex.run(int(now)):
            kind = effect[0]
            if kind == "invoke":
                self._invoke(effect[1], effect[2], effect[3], effect[4], effect[6])
            elif kind == "sleep":
                self._sleep(effect[1], effect[2])
            elif kind == "yield":
                yielded = True
            elif kind == "done":
                return _DONE
        if yielded:
            return _YIELD
        return _AGAIN if self._progress else _WAIT

    def request_stop(self, error: str | None = None, cause: str | None = None) -> None:
        """Abort the execution (status ABORTED) at the driver's next step."""
        self._stop_request = (error, cause)
        self._wake_up()

    def drive_sync(self) -> bool:
        """Drive without an event loop as far as possible; True when the execution is over."""
        while True:
            step = self._pump()
            if step == _DONE:
                self._finish()
                self._discard_parked()
                return True
            if step == _WAIT:
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
                    self._deadline_timer = loop.call_later(remaining, self._on_deadline)
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
        now = time.monotonic()
        for item in parked:
            if item[0] == "call":
                self._start_call(item[1], item[2], item[3], item[4])
            else:
                token, due = item[1], item[2]
                self._jobs[token] = _Job(None, loop.call_later(max(0.0, due - now), self._on_wake, token))

    def _discard_parked(self) -> None:
        parked, self._parked = self._parked, []
        for item in parked:
            if item[0] == "call" and inspect.iscoroutine(item[2]):
                item[2].close()

    async def _cancel_all(self) -> None:
        self._discard_parked()
        jobs, self._jobs = self._jobs, {}
        tasks = list(self._orphans)
        for job in jobs.values():
            if job.timer is not None:
                job.timer.cancel()
            if job.task is not None:
                job.task.cancel()
                tasks.append(job.task)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # ---------------------------------------------------------------- the outcome

    def _finish(self) -> None:
        if self._end_ms is None:
            self._end_ms = self._clock()

    def result(self) -> Result:
        ex = self._ex
        end = self._end_ms if self._end_ms is not None else self._clock()
        succeeded = ex.status == "SUCCEEDED"
        return Result(
            status=ex.status,
            output=ex.output if succeeded else None,
            output_json=ex.output_json if succeeded else None,
            error=ex.error,
            cause=ex.cause,
            transitions=ex.transitions,
            duration=max(0.0, (end - self._start_ms) / 1000.0),
            name=self.name,
            execution_arn=self.arn,
        )
