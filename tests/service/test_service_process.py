"""``expressway serve`` as a real process: it starts, answers boto3, loads [tasks] handlers from a
--config file, and exits 0 on SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from svc_support import PASS, ROLE, make_client, task_definition

HERE = Path(__file__).resolve().parent
ECHO = "arn:aws:lambda:us-east-1:123456789012:function:Echo"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answering(served: Served, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            out, err = served.output()
            pytest.fail(f"expressway serve exited with {served.process.returncode}: {out}\n{err}")
        try:
            with socket.create_connection(("127.0.0.1", served.port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"expressway serve did not answer on port {served.port} within {timeout} s")


class Served:
    """A running ``expressway serve``: its own process group, its output in files (a pipe nobody reads
    could fill and block the server; a pipe a stray worker holds open would block the test)."""

    def __init__(self, process: subprocess.Popen[str], port: int, out: Path, err: Path) -> None:
        self.process = process
        self.port = port
        self._out = out
        self._err = err

    def output(self) -> tuple[str, str]:
        return self._out.read_text(errors="replace"), self._err.read_text(errors="replace")

    def terminate(self) -> tuple[int, str, str]:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        return (code, *self.output())

    def kill_everything(self) -> None:
        """The supervisor and every worker, whatever state the test left them in."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    started: list[Served] = []

    def start(*extra: str, tmpdir: Path | None = None) -> Served:
        port = free_port()
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)
        if tmpdir is not None:
            env["TMPDIR"] = str(tmpdir)
        out, err = tmp_path / f"serve-{len(started)}.out", tmp_path / f"serve-{len(started)}.err"
        with out.open("w") as out_file, err.open("w") as err_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "expressway", "serve", "--port", str(port), *extra],
                cwd=HERE,  # the config names svc_handlers, a module in this directory
                env=env,
                stdout=out_file,
                stderr=err_file,
                text=True,
                start_new_session=True,
            )
        served = Served(process, port, out, err)
        started.append(served)
        wait_until_answering(served)
        return served

    yield start
    for served in started:
        served.kill_everything()


def test_serve_answers_and_stops_on_sigterm(serve: Any) -> None:
    served = serve()
    sfn = make_client(served.port)
    arn = sfn.create_state_machine(name="Proc", definition=PASS, roleArn=ROLE, type="EXPRESS")[
        "stateMachineArn"
    ]
    assert sfn.start_sync_execution(stateMachineArn=arn, input='{"p": 1}')["status"] == "SUCCEEDED"
    code, out, err = served.terminate()
    assert code == 0, err
    assert str(served.port) in out


def test_serve_loads_task_handlers_from_config(serve: Any, tmp_path: Path) -> None:
    config = tmp_path / "expressway.toml"
    config.write_text(f'[tasks]\n"{ECHO}" = "svc_handlers:echo"\n', encoding="utf-8")
    served = serve("--config", str(config))
    sfn = make_client(served.port)
    arn = sfn.create_state_machine(
        name="Cfg", definition=task_definition(ECHO), roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    result = sfn.start_sync_execution(stateMachineArn=arn, input='{"n": 3}')
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"echoed": {"n": 3}, "by": "svc_handlers.echo"}
    code, _, err = served.terminate()
    assert code == 0, err


def test_serve_rejects_a_bad_handler_in_config(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(f'[tasks]\n"{ECHO}" = "svc_handlers:no_such_function"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "expressway", "serve", "--port", str(free_port()), "--config", str(config)],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0
    assert "no_such_function" in done.stderr


def test_sigterm_lets_a_running_request_finish(serve: Any, tmp_path: Path) -> None:
    """Graceful stop: a synchronous execution in flight when SIGTERM arrives still gets its answer, and a
    long asynchronous one is cancelled after the drain deadline; the exit code is 0."""
    import threading

    config = tmp_path / "drain.toml"
    config.write_text("[server]\ndrain_seconds = 2.0\n", encoding="utf-8")
    served = serve("--config", str(config))
    sfn = make_client(served.port)
    short = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}})
    long = json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": True}}})
    short_arn = sfn.create_state_machine(name="Short", definition=short, roleArn=ROLE, type="EXPRESS")[
        "stateMachineArn"
    ]
    long_arn = sfn.create_state_machine(name="Long", definition=long, roleArn=ROLE, type="STANDARD")[
        "stateMachineArn"
    ]
    sfn.start_execution(stateMachineArn=long_arn)
    results: list[Any] = []
    caller = threading.Thread(
        target=lambda: results.append(
            make_client(served.port).start_sync_execution(stateMachineArn=short_arn)
        )
    )
    caller.start()
    time.sleep(0.3)  # the sync request is in its Wait state
    started = time.monotonic()
    code, _, err = served.terminate()
    caller.join(10)
    assert code == 0, err
    assert results and results[0]["status"] == "SUCCEEDED"
    assert time.monotonic() - started < 15


def _state(pid: int) -> str:
    """A process's state letter ("R", "S", "Z", ...), or "" once it is gone (Linux: /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
    return stat[stat.rindex(")") + 2 :].split()[0]


def _workers(supervisor: int) -> set[int]:
    """The supervisor's live worker processes: its children started by multiprocessing's spawn_main,
    which leaves out multiprocessing's resource tracker, also a child."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == supervisor and fields[0] != "Z" and b"spawn_main" in command:
            found.add(int(entry.name))
    return found


def _wait_for_workers(pid: int, count: int, without: int | None = None, timeout: float = 30.0) -> set[int]:
    def enough() -> set[int]:
        children = _workers(pid) - {without}
        return children if len(children) >= count else set()

    return _eventually(enough, f"the supervisor has {count} workers")


def _eventually(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """``check()``'s first truthy value; fails naming ``what`` after ``timeout`` seconds (a slow machine
    may take seconds to start a worker, so the tests poll rather than sleep a guessed time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def _status(port: int, execution: str) -> str:
    return make_client(port).describe_execution(executionArn=execution)["status"]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the workers through /proc")
def test_two_workers_share_machines_and_executions_and_a_dead_worker_is_replaced(serve: Any) -> None:
    served = serve("--workers", "2")
    supervisor = served.process.pid
    workers = _wait_for_workers(supervisor, 2)
    # A fresh client per call: a fresh connection, which the kernel gives either worker.
    arn = make_client(served.port).create_state_machine(
        name="Shared", definition=PASS, roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    started = [
        make_client(served.port).start_execution(stateMachineArn=arn, input=json.dumps({"i": i}))[
            "executionArn"
        ]
        for i in range(24)
    ]
    for i, execution in enumerate(started):
        _eventually(lambda e=execution: _status(served.port, e) != "RUNNING", f"execution {i} ends")
        described = make_client(served.port).describe_execution(executionArn=execution)
        assert described["status"] == "SUCCEEDED"
        assert json.loads(described["output"]) == {"i": i}
        events = make_client(served.port).get_execution_history(executionArn=execution)["events"]
        assert [e["type"] for e in events] == ["ExecutionStarted", "ExecutionSucceeded"]
    listed = make_client(served.port).list_executions(stateMachineArn=arn, maxResults=1000)["executions"]
    assert sorted(e["executionArn"] for e in listed) == sorted(started)

    # A STANDARD execution's name is taken on every worker, not only the one that ran it.
    standard = make_client(served.port).create_state_machine(
        name="SharedStandard", definition=PASS, roleArn=ROLE, type="STANDARD"
    )["stateMachineArn"]
    once = make_client(served.port).start_execution(stateMachineArn=standard, name="once", input="{}")
    _eventually(lambda: _status(served.port, once["executionArn"]) == "SUCCEEDED", "'once' succeeds")
    for i in range(6):
        with pytest.raises(ClientError) as exc:
            make_client(served.port).start_execution(
                stateMachineArn=standard, name="once", input=f'{{"i": {i}}}'
            )
        assert exc.value.response["Error"]["Code"] == "ExecutionAlreadyExists"

    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    replaced = _wait_for_workers(supervisor, 2, without=victim)
    assert victim not in replaced
    for _ in range(8):  # every worker, the new one too once it listens, still knows the machine
        run = make_client(served.port).start_sync_execution(stateMachineArn=arn, input="{}")
        assert run["status"] == "SUCCEEDED"

    code, _, err = served.terminate()
    assert code == 0, err


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the workers through /proc")
def test_workers_stop_when_their_supervisor_is_killed(serve: Any) -> None:
    """SIGKILL gives the supervisor no chance to stop its workers: they notice and stop by themselves,
    rather than hold the port with nobody to restart or stop them."""
    served = serve("--workers", "2")
    workers = _wait_for_workers(served.process.pid, 2)
    os.kill(served.process.pid, signal.SIGKILL)
    served.process.wait(timeout=30)

    def all_gone() -> bool:
        return all(_state(pid) in ("", "Z") for pid in workers)

    # (a stopping worker drains first: up to 30 s by default, though nothing is in flight here)
    _eventually(all_gone, "the workers stop after their supervisor is killed", timeout=60.0)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the workers through /proc")
def test_workers_start_under_a_long_tmpdir(serve: Any, tmp_path: Path) -> None:
    """The workers' Unix sockets go in a temporary directory; a TMPDIR too long for a socket's path
    must not keep them from starting."""
    long_tmpdir = tmp_path / ("t" * 100)
    long_tmpdir.mkdir()
    served = serve("--workers", "2", tmpdir=long_tmpdir)
    _wait_for_workers(served.process.pid, 2)
    arn = make_client(served.port).create_state_machine(
        name="LongTmp", definition=PASS, roleArn=ROLE, type="EXPRESS"
    )["stateMachineArn"]
    started = make_client(served.port).start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    for _ in range(8):  # asked of either worker: the sibling answers over its socket
        _eventually(lambda: _status(served.port, started) == "SUCCEEDED", "the execution is found")
    code, _, err = served.terminate()
    assert code == 0, err


def test_region_and_account_name_the_arns(serve: Any) -> None:
    served = serve("--region", "eu-west-1", "--account-id", "111122223333")
    sfn = make_client(served.port)
    definition = json.dumps(
        {
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id"}, "End": True}},
        }
    )
    arn = sfn.create_state_machine(name="Placed", definition=definition, roleArn=ROLE, type="EXPRESS")[
        "stateMachineArn"
    ]
    assert arn == "arn:aws:states:eu-west-1:111122223333:stateMachine:Placed"
    run = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
    assert run["executionArn"].startswith("arn:aws:states:eu-west-1:111122223333:express:Placed:")
    assert json.loads(run["output"]) == {"id": run["executionArn"]}
    code, _, err = served.terminate()
    assert code == 0, err


def test_a_bad_region_is_refused_at_startup() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "expressway", "serve", "--region", "mars", "--port", str(free_port())],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "not a region name: 'mars'" in done.stderr
