"""The README's Python examples run as written. The service example talks to a real served
instance: the block's ``http://127.0.0.1:8083`` is pointed at one started for the test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.svc_support import start_server

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
SERVICE_URL = "http://127.0.0.1:8083"


def test_readme_has_python_examples() -> None:
    assert BLOCKS
    assert any(SERVICE_URL in block for block in BLOCKS)


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(source: str) -> None:
    if SERVICE_URL not in source:
        exec(compile(source, str(README), "exec"), {"__name__": "readme_example"})
        return
    server, stop = start_server()
    try:
        source = source.replace(SERVICE_URL, server.url)
        exec(compile(source, str(README), "exec"), {"__name__": "readme_example"})
    finally:
        stop()
