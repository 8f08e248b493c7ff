"""Requests the SDKs never send, over raw HTTP: each is a 4xx with an AWS-style error body, never a 500,
and the server keeps answering good requests afterwards."""

from __future__ import annotations

import json
from typing import Any

import pytest
from svc_support import PASS, ROLE

CREATE = "AWSStepFunctions.CreateStateMachine"
START_SYNC = "AWSStepFunctions.StartSyncExecution"
LIST = "AWSStepFunctions.ListStateMachines"


def assert_aws_error(status: int, body: dict[str, Any] | None, raw: bytes, name: str | None = None) -> dict:
    assert 400 <= status < 500, (status, raw[:300])
    assert isinstance(body, dict), raw[:300]
    assert set(body) == {"__type", "message"}, body
    assert isinstance(body["__type"], str) and body["__type"]
    assert isinstance(body["message"], str) and body["message"]
    if name is not None:
        assert body["__type"] == name, body
    return body


def assert_still_serving(server: Any) -> None:
    status, body, raw = server.raw(b"{}", target=LIST)
    assert status == 200, raw
    assert body is not None and "stateMachines" in body


def express_machine(server: Any, name: str = "M") -> str:
    request = {"name": name, "definition": PASS, "roleArn": ROLE, "type": "EXPRESS"}
    status, body, raw = server.raw(json.dumps(request).encode(), target=CREATE)
    assert status == 200, raw
    assert body is not None
    return body["stateMachineArn"]


def test_good_request_headers(server: Any) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", "/", b"{}", {"X-Amz-Target": LIST, "Content-Type": "application/x-amz-json-1.0"})
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("application/x-amz-json-1.0")
    assert response.getheader("x-amzn-RequestId")
    response.read()
    conn.close()


@pytest.mark.parametrize(
    "body",
    [b"{", b"{'a': 1}", b"not json", b'{"name": "x",}', b"\x00\x01", b'{"a": 1} {"b": 2}'],
    ids=["open-brace", "single-quotes", "word", "trailing-comma", "control-bytes", "two-objects"],
)
def test_malformed_json(server: Any, body: bytes) -> None:
    status, parsed, raw = server.raw(body, target=CREATE)
    assert_aws_error(status, parsed, raw, "SerializationException")
    assert_still_serving(server)


def test_empty_body_is_an_empty_request(server: Any) -> None:
    status, parsed, raw = server.raw(b"", target=CREATE)
    error = assert_aws_error(status, parsed, raw, "ValidationException")
    assert (
        "'name'" in error["message"]
        and "'definition'" in error["message"]
        and "'roleArn'" in error["message"]
    )
    # Listing needs nothing: an empty body works.
    status, parsed, raw = server.raw(b"", target=LIST)
    assert status == 200 and parsed == {"stateMachines": []}
    assert_still_serving(server)


@pytest.mark.parametrize("body", [b"[]", b'[{"name": "x"}]', b'"text"', b"42", b"null", b"true"])
def test_body_that_is_not_an_object(server: Any, body: bytes) -> None:
    status, parsed, raw = server.raw(body, target=CREATE)
    assert_aws_error(status, parsed, raw, "SerializationException")
    assert_still_serving(server)


def test_unknown_target(server: Any) -> None:
    for target in (
        "AWSStepFunctions.LaunchRockets",
        "AWSStepFunctions.",
        "Other.ListStateMachines",
        "garbage",
    ):
        status, parsed, raw = server.raw(b"{}", target=target)
        error = assert_aws_error(status, parsed, raw, "UnknownOperationException")
        assert target in error["message"]
    assert_still_serving(server)


def test_missing_target_header(server: Any) -> None:
    status, parsed, raw = server.raw(b"{}", target=None)
    error = assert_aws_error(status, parsed, raw, "UnknownOperationException")
    assert "X-Amz-Target" in error["message"]
    assert_still_serving(server)


@pytest.mark.parametrize(
    ("target", "request_body", "member"),
    [
        (CREATE, {"name": 5, "definition": PASS, "roleArn": ROLE}, "name"),
        (CREATE, {"name": "x", "definition": {"StartAt": "P"}, "roleArn": ROLE}, "definition"),
        (CREATE, {"name": "x", "definition": PASS, "roleArn": ROLE, "tags": "a=b"}, "tags"),
        (
            CREATE,
            {"name": "x", "definition": PASS, "roleArn": ROLE, "loggingConfiguration": "ALL"},
            "loggingConfiguration",
        ),
        (LIST, {"maxResults": "x"}, "maxResults"),
        (LIST, {"maxResults": 1.5}, "maxResults"),
        (LIST, {"maxResults": True}, "maxResults"),
        (LIST, {"nextToken": 7}, "nextToken"),
        (START_SYNC, {"stateMachineArn": ["a"]}, "stateMachineArn"),
        (
            START_SYNC,
            {"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:M", "input": {}},
            "input",
        ),
        (
            "AWSStepFunctions.GetExecutionHistory",
            {"executionArn": "a", "reverseOrder": "yes"},
            "reverseOrder",
        ),
    ],
)
def test_wrong_member_types(server: Any, target: str, request_body: dict[str, Any], member: str) -> None:
    status, parsed, raw = server.raw(json.dumps(request_body).encode(), target=target)
    error = assert_aws_error(status, parsed, raw, "SerializationException")
    assert member in error["message"]
    assert_still_serving(server)


@pytest.mark.parametrize(
    "tags",
    [["a"], [{"value": "v"}], [{"key": 1, "value": "v"}], [{"key": "k", "value": 2}], [None]],
)
def test_malformed_tags(server: Any, tags: list[Any]) -> None:
    request = {"name": "x", "definition": PASS, "roleArn": ROLE, "tags": tags}
    status, parsed, raw = server.raw(json.dumps(request).encode(), target=CREATE)
    assert_aws_error(status, parsed, raw)
    assert_still_serving(server)


@pytest.mark.parametrize(
    ("config", "name"),
    [
        ({"level": "LOUD"}, "InvalidLoggingConfiguration"),
        ({"level": 5}, None),
        ({"includeExecutionData": "yes"}, None),
    ],
)
def test_malformed_logging_configuration(server: Any, config: dict[str, Any], name: str | None) -> None:
    request = {"name": "x", "definition": PASS, "roleArn": ROLE, "loggingConfiguration": config}
    status, parsed, raw = server.raw(json.dumps(request).encode(), target=CREATE)
    assert_aws_error(status, parsed, raw, name)
    assert_still_serving(server)


def test_malformed_tracing_configuration(server: Any) -> None:
    request = {"name": "x", "definition": PASS, "roleArn": ROLE, "tracingConfiguration": {"enabled": "yes"}}
    status, parsed, raw = server.raw(json.dumps(request).encode(), target=CREATE)
    assert_aws_error(status, parsed, raw)


def test_tag_keys_of_wrong_type(server: Any) -> None:
    arn = express_machine(server)
    for body in ({"resourceArn": arn, "tagKeys": [1, None]}, {"resourceArn": arn, "tagKeys": [{"a": 1}]}):
        status, parsed, raw = server.raw(json.dumps(body).encode(), target="AWSStepFunctions.UntagResource")
        assert_aws_error(status, parsed, raw)
    assert_still_serving(server)


def test_oversized_input(server: Any) -> None:
    arn = express_machine(server)
    request = {"stateMachineArn": arn, "input": json.dumps({"x": "y" * 262_144})}
    status, parsed, raw = server.raw(json.dumps(request).encode(), target=START_SYNC)
    error = assert_aws_error(status, parsed, raw, "ValidationException")
    assert "input" in error["message"]
    assert_still_serving(server)


def test_body_larger_than_max_body(server_factory: Any) -> None:
    server, _ = server_factory(max_body=100_000)
    request = {
        "name": "big",
        "definition": PASS,
        "roleArn": ROLE,
        "tags": [{"key": "k", "value": "v" * 200_000}],
    }
    status, parsed, raw = server.raw(json.dumps(request).encode(), target=CREATE)
    assert status == 413, raw[:200]
    assert_aws_error_any_status(parsed, raw)
    assert_still_serving(server)


def test_body_larger_than_default_max_body(server: Any) -> None:
    body = b'{"name": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    status, parsed, raw = server.raw(body, target=CREATE)
    assert status == 413
    assert_aws_error_any_status(parsed, raw)
    assert_still_serving(server)


def assert_aws_error_any_status(parsed: dict[str, Any] | None, raw: bytes) -> None:
    assert isinstance(parsed, dict), raw[:200]
    assert set(parsed) == {"__type", "message"}
    assert parsed["__type"] and parsed["message"]


def test_deeply_nested_body(server: Any) -> None:
    body = b"[" * 10_000 + b"]" * 10_000
    status, parsed, raw = server.raw(body, target=CREATE)
    assert_aws_error(status, parsed, raw, "SerializationException")
    nested_object = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
    status, parsed, raw = server.raw(nested_object, target=CREATE)
    assert_aws_error(status, parsed, raw, "SerializationException")
    inside = b'{"name": "x", "definition": "d", "roleArn": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    status, parsed, raw = server.raw(inside, target=CREATE)
    assert_aws_error(status, parsed, raw, "SerializationException")
    assert_still_serving(server)


def test_deeply_nested_execution_input(server: Any) -> None:
    arn = express_machine(server)
    for text in ("[" * 10_000 + "]" * 10_000, '{"a":' * 10_000 + "1" + "}" * 10_000):
        for target in (START_SYNC, "AWSStepFunctions.StartExecution"):
            request = {"stateMachineArn": arn, "input": text}
            status, parsed, raw = server.raw(json.dumps(request).encode(), target=target)
            assert_aws_error(status, parsed, raw, "InvalidExecutionInput")
    assert_still_serving(server)


def test_deeply_nested_definition(server: Any) -> None:
    definition = "[" * 10_000 + "]" * 10_000
    request = {"name": "deep", "definition": definition, "roleArn": ROLE}
    status, parsed, raw = server.raw(json.dumps(request).encode(), target=CREATE)
    assert_aws_error(status, parsed, raw, "InvalidDefinition")
    request = {"definition": definition}
    status, parsed, raw = server.raw(
        json.dumps(request).encode(), target="AWSStepFunctions.ValidateStateMachineDefinition"
    )
    assert status == 200, raw[:300]
    assert parsed is not None and parsed["result"] == "FAIL"
    assert_still_serving(server)


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "\xff\xfe"}',
        b'{"name": "caf\xc3"}',
        b"\xef\xbb\xbf{}",  # a byte order mark
        b'{"name": "\xed\xa0\x80"}',  # an encoded surrogate
    ],
    ids=["ff-fe", "truncated", "bom", "surrogate"],
)
def test_invalid_utf8(server: Any, body: bytes) -> None:
    status, parsed, raw = server.raw(body, target=CREATE)
    assert_aws_error(status, parsed, raw, "SerializationException")
    assert_still_serving(server)


def test_lone_surrogate_escape_in_input(server: Any) -> None:
    arn = express_machine(server)
    body = b'{"stateMachineArn": "' + arn.encode() + b'", "input": "\\"\\ud800\\""}'
    status, parsed, raw = server.raw(body, target=START_SYNC)
    assert_aws_error(status, parsed, raw, "SerializationException")
    assert_still_serving(server)


def test_lone_surrogate_in_name(server: Any) -> None:
    body = b'{"name": "\\ud800", "definition": "x", "roleArn": "' + ROLE.encode() + b'"}'
    status, parsed, raw = server.raw(body, target=CREATE)
    assert_aws_error(status, parsed, raw, "SerializationException")
    assert_still_serving(server)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/health"),
        ("POST", "/other"),
        ("PUT", "/"),
        ("DELETE", "/x/y"),
        ("GET", "/favicon.ico"),
    ],
)
def test_other_methods_and_paths(server: Any, method: str, path: str) -> None:
    status, parsed, raw = server.raw(b"" if method == "GET" else b"{}", target=LIST, method=method, path=path)
    assert_aws_error(status, parsed, raw)
    assert_still_serving(server)


def test_execution_input_with_unicode_round_trips(server: Any) -> None:
    arn = express_machine(server)
    text = json.dumps({"s": "héllo ✓ 𝄞"}, ensure_ascii=False)
    request = {"stateMachineArn": arn, "input": text}
    status, parsed, raw = server.raw(json.dumps(request, ensure_ascii=False).encode(), target=START_SYNC)
    assert status == 200, raw
    assert parsed is not None
    assert json.loads(parsed["output"]) == {"s": "héllo ✓ 𝄞"}
