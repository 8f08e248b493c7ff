"""The command line, run as a subprocess: `python -m expressway` and the `expressway` script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "expressway", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def write_json(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value))
    return path


@pytest.fixture
def pass_machine(tmp_path: Path) -> Path:
    return write_json(
        tmp_path / "pass.json", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    )


def test_run_prints_the_result(pass_machine: Path) -> None:
    proc = cli("run", str(pass_machine), "--input", '{"a": [1, 2]}')
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "status": "SUCCEEDED",
        "output": {"a": [1, 2]},
        "error": None,
        "cause": None,
    }


def test_run_with_input_file_and_the_hello_example() -> None:
    proc = cli("run", "examples/hello.asl.json", "--input-file", "examples/hello.input.json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "SUCCEEDED"
    assert out["output"] == {
        "name": "expressway",
        "greeting": "Hello, expressway!",
        "hour": 15,
        "salutation": "Good afternoon",
    }


@pytest.mark.parametrize("tasks", ["examples/tasks.py:TASKS", "examples.tasks:TASKS"])
def test_run_with_tasks(tasks: str) -> None:
    proc = cli(
        "run",
        "examples/order.asl.json",
        "--input-file",
        "examples/order.input.json",
        "--tasks",
        tasks,
        "--time-scale",
        "0",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out == {
        "status": "SUCCEEDED",
        "output": {"orderId": "order-42", "carrier": "local-post", "charged": 35},
        "error": None,
        "cause": None,
    }


def test_run_failed_execution_exits_1(tmp_path: Path) -> None:
    machine = write_json(
        tmp_path / "fail.json", {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}
    )
    proc = cli("run", str(machine))
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert (out["status"], out["error"], out["output"]) == ("FAILED", "E", None)


def test_declined_order_fails_through_the_catch() -> None:
    order = json.loads((EXAMPLES / "order.input.json").read_text())
    order["order"]["card"] = "0000"
    proc = cli(
        "run",
        "examples/order.asl.json",
        "--input",
        json.dumps(order),
        "--tasks",
        "examples/tasks.py:TASKS",
        "--time-scale",
        "0",
    )
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert (out["status"], out["error"]) == ("FAILED", "OrderDeclined")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--input", "{not json"], "--input is not valid JSON"),
        (["--input-file", "examples/missing.json"], "cannot read input file"),
        (["--tasks", "no_such_module:TASKS"], "cannot import"),
        (["--tasks", "examples/tasks.py:NOPE"], "has no attribute"),
        (["--name", "bad name"], "invalid execution name"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(pass_machine: Path, args: list[str], needle: str) -> None:
    proc = cli("run", str(pass_machine), *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("depth", [200, 5000])
def test_deeply_nested_input_exits_2(pass_machine: Path, tmp_path: Path, depth: int) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * depth + "]" * depth)
    proc = cli("run", str(pass_machine), "--input-file", str(deep))
    if proc.returncode == 0:  # accepted: then it must come back unchanged
        assert json.loads(proc.stdout)["status"] == "SUCCEEDED"
        return
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_definition_that_is_not_json_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{'StartAt': 'P'")
    proc = cli("run", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.startswith("expressway: error: definition")
    assert "not valid JSON" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_invalid_definition_exits_2_with_aws_message(tmp_path: Path) -> None:
    machine = write_json(tmp_path / "m.json", {"StartAt": "A"})
    proc = cli("run", str(machine))
    assert proc.returncode == 2
    assert "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_definition_file_exits_2(tmp_path: Path) -> None:
    proc = cli("run", str(tmp_path / "nope.json"))
    assert proc.returncode == 2
    assert "cannot read definition" in proc.stderr


def test_validate_ok(pass_machine: Path) -> None:
    proc = cli("validate", str(pass_machine))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["result"] == "OK"
    assert not [d for d in report["diagnostics"] if d["severity"] == "ERROR"]


def test_validate_invalid_exits_1(tmp_path: Path) -> None:
    machine = write_json(tmp_path / "m.json", {"States": {"S": {"Type": "Pass", "End": True}}})
    proc = cli("validate", str(machine))
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["result"] == "FAIL"
    assert report["diagnostics"][0]["message"] == "These fields are required: [StartAt]"


def test_validate_text_that_is_not_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not a definition")
    proc = cli("validate", str(bad))
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["diagnostics"][0]["code"] == "INVALID_JSON_DESCRIPTION"


def test_validate_type_matters(tmp_path: Path) -> None:
    machine = write_json(
        tmp_path / "sync.json",
        {
            "StartAt": "S",
            "States": {
                "S": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync",
                    "Parameters": {"StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x"},
                    "End": True,
                }
            },
        },
    )
    assert cli("validate", str(machine)).returncode == 1
    assert cli("validate", "--type", "STANDARD", str(machine)).returncode == 0


def test_usage_error_without_command() -> None:
    proc = cli()
    assert proc.returncode == 2
    assert "usage:" in proc.stderr


def test_console_script_is_installed(pass_machine: Path) -> None:
    script = Path(sys.executable).parent / "expressway"
    assert script.exists(), f"no {script}: is the package installed in this environment?"
    proc = subprocess.run(
        [str(script), "run", str(pass_machine)], check=False, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "SUCCEEDED"
