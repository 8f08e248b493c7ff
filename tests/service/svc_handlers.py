"""Task handlers that test_service_process.py names in a ``expressway serve --config`` file."""

from __future__ import annotations

from typing import Any


def echo(event: Any) -> Any:
    return {"echoed": event, "by": "svc_handlers.echo"}
