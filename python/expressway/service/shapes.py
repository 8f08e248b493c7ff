"""The members of each request, as AWS's model has them (types, bounds, the required ones)."""

from __future__ import annotations

from .checks import MAX_DEFINITION
from .protocol import Field, Shape

STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")

ARN = Field(str, required=True, min=1, max=256)
MACHINE_ARN = Shape({"stateMachineArn": ARN})
EXECUTION_ARN = Shape(
    {"executionArn": ARN, "includedData": Field(str, choices=("ALL_DATA", "METADATA_ONLY"))}
)
RESOURCE_ARN = Shape({"resourceArn": ARN})
PAGE = {"maxResults": Field(int, min=0, max=1000), "nextToken": Field(str, min=1, max=3096)}
CONFIGS = {
    "loggingConfiguration": Field(dict),
    "tracingConfiguration": Field(dict),
    "publish": Field(bool),
    "versionDescription": Field(str, max=256),
}
CREATE = Shape(
    {
        "name": Field(str, required=True, min=1, max=80),
        "definition": Field(str, required=True, min=1, max=MAX_DEFINITION),
        "roleArn": ARN,
        "type": Field(str, choices=("STANDARD", "EXPRESS")),
        "tags": Field(list),
        **CONFIGS,
    }
)
UPDATE = Shape(
    {
        "stateMachineArn": ARN,
        "definition": Field(str, min=1, max=MAX_DEFINITION),
        "roleArn": Field(str, min=1, max=256),
        **CONFIGS,
    }
)
LIST_MACHINES = Shape(PAGE)
VALIDATE = Shape(
    {
        "definition": Field(str, required=True, min=1, max=MAX_DEFINITION),
        "type": Field(str, choices=("STANDARD", "EXPRESS")),
        "severity": Field(str, choices=("ERROR", "WARNING")),
        "maxResults": Field(int, min=0, max=100),
    }
)
TAG = Shape({"resourceArn": ARN, "tags": Field(list, required=True)})
UNTAG = Shape({"resourceArn": ARN, "tagKeys": Field(list, required=True)})
# input's 256 KiB bound is in bytes; _check_payload measures it.
START = Shape(
    {
        "stateMachineArn": ARN,
        "name": Field(str, min=1, max=80),
        "input": Field(str),
        "traceHeader": Field(str, max=256),
        "includedData": Field(str, choices=("ALL_DATA", "METADATA_ONLY")),
    }
)
TOKEN = Field(str, required=True, min=1, max=2048)
SEND_SUCCESS = Shape({"taskToken": TOKEN, "output": Field(str, required=True)})
SEND_FAILURE = Shape({"taskToken": TOKEN, "error": Field(str, max=256), "cause": Field(str, max=32768)})
SEND_HEARTBEAT = Shape({"taskToken": TOKEN})
STOP = Shape({"executionArn": ARN, "error": Field(str, max=256), "cause": Field(str, max=32768)})
LIST_EXECUTIONS = Shape(
    {
        "stateMachineArn": Field(str, min=1, max=256),
        "statusFilter": Field(str, choices=STATUSES),
        "mapRunArn": Field(str),
        **PAGE,
    }
)
HISTORY = Shape(
    {
        "executionArn": ARN,
        "reverseOrder": Field(bool),
        "includeExecutionData": Field(bool),
        **PAGE,
    }
)
