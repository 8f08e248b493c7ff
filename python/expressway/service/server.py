"""Running the service: configuration (flags over a TOML file), one worker process or several sharing
the port (SO_REUSEPORT) under a supervisor that restarts a worker that dies, and a graceful stop on
SIGTERM/SIGINT (stop accepting, let running executions finish up to a deadline, cancel the rest)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .. import _context
from .._loader import LoadError, load_handler, load_tasks
from .._resources import Handler
from .store import SharedMachines

__all__ = ["ConfigError", "ServeConfig", "load_config", "serve"]

log = logging.getLogger("expressway.service")
_SUPERVISOR_POLL_SECONDS = 0.5
# The workers' Unix sockets live in the shared directory, and a socket's path holds at most 107 bytes.
_MAX_DIRECTORY_CHARS = 80


class ConfigError(ValueError):
    """A bad configuration file or flag; reported on one line."""


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"
    port: int = 8083
    workers: int = 1
    access_log: bool = False
    aws_strict: bool = False
    region: str = "us-east-1"
    account_id: str = "123456789012"
    max_body_bytes: int = 4 * 1024 * 1024
    drain_seconds: float = 30.0
    keep_finished: int = 1000
    max_inflight: int = 10_000
    max_open: int = 100_000
    express_max_duration: float = 300.0
    # Resource or function name -> "module:function"; and modules whose expressway.task registrations apply.
    tasks: dict[str, str] = field(default_factory=dict)
    task_modules: tuple[str, ...] = ()

    def options(self) -> Any:
        from .actions import ServiceOptions

        return ServiceOptions(
            keep_finished=self.keep_finished,
            max_inflight=self.max_inflight,
            max_open=self.max_open,
            aws_strict=self.aws_strict,
            express_max_duration=self.express_max_duration,
        )


_SECTIONS = {
    "server": (
        "host",
        "port",
        "workers",
        "access_log",
        "aws_strict",
        "region",
        "account_id",
        "max_body_bytes",
        "drain_seconds",
    ),
    "store": ("keep_finished",),
    "limits": ("max_inflight", "max_open", "express_max_duration"),
}


def load_config(path: str | None, **overrides: Any) -> ServeConfig:
    """The TOML file's settings (sections ``server``, ``store``, ``limits``, ``tasks``), then the
    flags that were given (``None`` means not given)."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config {path!r}: {exc.strerror or exc}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config {path!r} is not valid TOML: {exc}") from None
        for section, table in data.items():
            if section == "tasks":
                if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                    raise ConfigError(f'config {path!r}: [tasks] maps names to "module:function" strings')
                values["tasks"] = dict(table)
                continue
            if section not in _SECTIONS or not isinstance(table, dict):
                raise ConfigError(f"config {path!r}: unknown section [{section}]")
            for key, value in table.items():
                if key not in _SECTIONS[section]:
                    raise ConfigError(f"config {path!r}: unknown setting {key!r} in [{section}]")
                values[key] = value
    values.update({k: v for k, v in overrides.items() if v is not None})
    types = {f.name: f.type for f in fields(ServeConfig)}
    for key, value in values.items():
        expected = {"int": int, "float": (int, float), "bool": bool, "str": str}.get(str(types[key]))
        if expected is not None and (
            not isinstance(value, expected) or (expected is int and isinstance(value, bool))
        ):
            raise ConfigError(f"setting {key!r} must be of type {types[key]}, not {value!r}")
    if "task_modules" in values:
        values["task_modules"] = tuple(values["task_modules"])
    config = ServeConfig(**values)
    try:
        _context.check_place(config.region, config.account_id)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if config.workers < 1:
        raise ConfigError("workers must be at least 1")
    if config.workers > 1 and config.port == 0:
        raise ConfigError("several workers need a fixed port (not 0)")
    return config


def _load_handlers(config: ServeConfig) -> dict[str, Handler]:
    tasks: dict[str, Handler] = {}
    for module in config.task_modules:
        tasks.update(load_tasks(module))
    for key, spec in config.tasks.items():
        tasks[key] = load_handler(spec, f"[tasks] {key!r}")
    return tasks


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # uvloop does not build everywhere (Windows); asyncio's loop still works
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_worker(
    config: ServeConfig,
    *,
    announce: bool = True,
    shared: SharedMachines | None = None,
    index: int = 0,
    supervisor: int | None = None,
) -> int:
    """One worker: the application on this process's event loop until SIGTERM/SIGINT."""
    from aiohttp import web

    from .actions import Service
    from .app import DRAIN_KEY, make_app

    _context.configure(region=config.region, account_id=config.account_id)  # in this process too
    service = Service(_load_handlers(config), config.options(), shared)
    app = make_app(service, config.max_body_bytes)
    app[DRAIN_KEY] = config.drain_seconds
    if shared is not None and config.workers > 1:
        _join_peers(app, service, shared, index, config.workers)
    if supervisor is not None:
        _follow_the_supervisor(app, supervisor)
    loop = _new_loop()
    asyncio.set_event_loop(loop)

    def banner(_: str) -> None:
        if announce:
            print(
                f"expressway: the Step Functions API on http://{config.host}:{config.port} "
                f"({config.workers} worker{'s' if config.workers > 1 else ''}); Ctrl-C stops it",
                flush=True,
            )

    web.run_app(
        app,
        host=config.host,
        port=config.port,
        reuse_port=config.workers > 1,
        access_log=logging.getLogger("aiohttp.access") if config.access_log else None,
        shutdown_timeout=config.drain_seconds,
        print=banner,
        loop=loop,
        handle_signals=True,
    )
    return 0


def _join_peers(app: Any, service: Any, shared: SharedMachines, index: int, workers: int) -> None:
    """Serves this worker's executions to its siblings on a Unix socket, and lets it ask theirs."""
    from aiohttp import web

    from .app import dispatch
    from .peers import Peers, peer_app, socket_path

    service.peers = Peers([socket_path(shared.directory, i) for i in range(workers) if i != index])

    async def answer_locally(target: str, body: bytes) -> tuple[int, bytes]:
        status, payload, _ = await dispatch(service, target, body)
        return status, payload

    runner = web.AppRunner(peer_app(answer_locally, service.local_executions), access_log=None)

    async def start(_: web.Application) -> None:
        await runner.setup()
        path = socket_path(shared.directory, index)
        path.unlink(missing_ok=True)  # left by a worker of this index that died
        await web.UnixSite(runner, str(path)).start()

    async def stop(_: web.Application) -> None:
        await runner.cleanup()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)


def _follow_the_supervisor(app: Any, supervisor: int) -> None:
    """Stops this worker, as SIGTERM would, once its supervisor is gone: a supervisor killed outright
    (SIGKILL, the OOM killer) cannot stop its workers, and they must not hold the port on their own."""

    async def watch() -> None:
        while os.getppid() == supervisor:
            await asyncio.sleep(_SUPERVISOR_POLL_SECONDS)
        log.warning("the supervisor (pid %d) is gone; this worker stops", supervisor)
        os.kill(os.getpid(), signal.SIGTERM)

    watching: list[asyncio.Task[None]] = []

    async def start(_: Any) -> None:
        watching.append(asyncio.get_running_loop().create_task(watch()))

    async def stop(_: Any) -> None:
        for task in watching:
            task.cancel()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)


def _worker_main(config: ServeConfig, index: int, directory: str, generation: Any, supervisor: int) -> None:
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s worker {index} %(levelname)s %(message)s")
    try:
        run_worker(
            config,
            announce=False,
            shared=SharedMachines(directory, generation),
            index=index,
            supervisor=supervisor,
        )
    except OSError as exc:
        print(
            f"expressway: worker {index}: cannot listen on {config.host}:{config.port}: {exc}",
            file=sys.stderr,
        )
        sys.exit(3)


def _supervise(config: ServeConfig) -> int:
    """Keeps ``config.workers`` workers alive; on SIGTERM/SIGINT passes the signal on and waits for them."""
    context = multiprocessing.get_context("spawn")
    stopping = False
    # The state machines every worker sees (see store.SharedMachines); gone when the service stops.
    directory = tempfile.TemporaryDirectory(prefix="expressway-machines-")
    if len(directory.name) > _MAX_DIRECTORY_CHARS:  # a long TMPDIR: the workers' sockets would not fit
        directory.cleanup()
        directory = tempfile.TemporaryDirectory(prefix="expressway-machines-", dir="/tmp")
    generation = context.Value("q", 0)

    def start(index: int) -> multiprocessing.process.BaseProcess:
        process = context.Process(
            target=_worker_main,
            args=(config, index, directory.name, generation, os.getpid()),
            name=f"expressway-worker-{index}",
        )
        process.start()
        return process

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    workers = [start(i) for i in range(config.workers)]
    print(
        f"expressway: the Step Functions API on http://{config.host}:{config.port} "
        f"({config.workers} workers); Ctrl-C stops it",
        flush=True,
    )
    try:
        while not stopping:
            time.sleep(0.2)
            for index, process in enumerate(workers):
                if not process.is_alive() and not stopping:
                    if process.exitcode == 3:  # cannot listen: restarting would not help
                        stopping = True
                        break
                    log.warning("worker %d exited with %s; starting a new one", index, process.exitcode)
                    workers[index] = start(index)
    finally:
        for process in workers:
            if process.is_alive() and process.pid is not None:
                process.terminate()  # SIGTERM: the worker drains, then exits
        deadline = time.monotonic() + config.drain_seconds + 5.0
        for process in workers:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        directory.cleanup()
    return 3 if any(p.exitcode == 3 for p in workers) else 0


def serve(config: ServeConfig) -> int:
    try:
        _load_handlers(config)  # fail fast, in the supervisor, on a handler that cannot be loaded
    except LoadError as exc:
        raise ConfigError(str(exc)) from None
    if config.workers == 1:
        try:
            return run_worker(config)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
            ) from None
    return _supervise(replace(config))
