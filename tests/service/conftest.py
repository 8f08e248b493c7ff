"""Fixtures for the service's acceptance tests (the machinery is in svc_support.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from svc_support import PASS, ROLE, Server, make_client, start_server

from expressway.service import ServiceOptions


@pytest.fixture
def server_factory() -> Iterator[Callable[..., tuple[Server, Any]]]:
    """Starts servers with given tasks/options; each is stopped at the end of the test."""
    stops: list[Callable[[], None]] = []

    def factory(
        tasks: Mapping[str, Any] | None = None,
        options: ServiceOptions | None = None,
        max_body: int | None = None,
    ) -> tuple[Server, Any]:
        server, stop = start_server(tasks, options, max_body)
        stops.append(stop)
        return server, make_client(server.port)

    yield factory
    for stop in reversed(stops):
        stop()


@pytest.fixture
def server(server_factory: Callable[..., tuple[Server, Any]]) -> Server:
    return server_factory()[0]


@pytest.fixture
def sfn(server: Server) -> Any:
    return make_client(server.port)


@pytest.fixture
def make_machine(sfn: Any) -> Callable[..., str]:
    """Creates a state machine on the default server and returns its ARN."""
    counter = iter(range(1_000_000))

    def create(definition: str = PASS, type: str = "EXPRESS", name: str | None = None, **extra: Any) -> str:
        name = name or f"m{next(counter)}"
        return sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE, type=type, **extra)[
            "stateMachineArn"
        ]

    return create
