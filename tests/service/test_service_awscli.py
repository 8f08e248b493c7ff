"""The AWS CLI (v1, from PyPI) against the service, with dummy credentials and no config files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from svc_support import PASS_SUCCEED, ROLE

AWS = Path(sys.executable).with_name("aws")

pytestmark = pytest.mark.skipif(not AWS.exists(), reason="awscli is not installed in this environment")


def aws(server: Any, tmp_path: Path, *args: str, extra_env: dict[str, str] | None = None) -> Any:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_")
        and key not in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
    }
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "no-such-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-such-credentials"),
        AWS_MAX_ATTEMPTS="1",
        AWS_EC2_METADATA_DISABLED="true",
        **(extra_env or {}),
    )
    command = [str(AWS), "stepfunctions", *args, "--endpoint-url", server.url, "--output", "json"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_cli_create_and_start(server: Any, tmp_path: Path) -> None:
    created = aws(
        server,
        tmp_path,
        "create-state-machine",
        "--name",
        "FromCli",
        "--definition",
        PASS_SUCCEED,
        "--role-arn",
        ROLE,
        "--type",
        "EXPRESS",
    )
    arn = created["stateMachineArn"]
    assert arn == "arn:aws:states:us-east-1:123456789012:stateMachine:FromCli"
    assert "creationDate" in created

    started = aws(server, tmp_path, "start-execution", "--state-machine-arn", arn, "--input", '{"cli": true}')
    assert started["executionArn"].startswith("arn:aws:states:us-east-1:123456789012:express:FromCli:")
    assert "startDate" in started

    # StartSyncExecution has the host prefix "sync-"; the CLI injects it unless told not to (botocore
    # reads AWS_DISABLE_HOST_PREFIX_INJECTION, or disable_host_prefix_injection in the config file).
    result = aws(
        server,
        tmp_path,
        "start-sync-execution",
        "--state-machine-arn",
        arn,
        "--input",
        '{"cli": 1}',
        extra_env={"AWS_DISABLE_HOST_PREFIX_INJECTION": "true"},
    )
    assert result["status"] == "SUCCEEDED"
    assert json.loads(result["output"]) == {"cli": 1}
    assert result["billingDetails"]["billedDurationInMilliseconds"] >= 100
