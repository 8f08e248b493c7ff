"""The pytest-benchmark suite (issue 5). Files are ``bench_*.py``; run them with ``make bench`` (full
sizes, JSON report and a table) or ``make bench-quick`` (every benchmark once at small sizes).
They are not part of ``make test``. Shared helpers live in ``_support.py``.
"""

from __future__ import annotations

from fnmatch import fnmatch

import pytest


def pytest_collect_file(file_path, parent):
    """Collect ``bench_*.py`` as test modules, unless pytest already does (a file named on the
    command line, or a ``python_files`` pattern that matches)."""
    if file_path.suffix != ".py" or not fnmatch(file_path.name, "bench_*.py"):
        return None
    if parent.session.isinitpath(file_path):
        return None
    if any(fnmatch(file_path.name, pattern) for pattern in parent.config.getini("python_files")):
        return None
    return pytest.Module.from_parent(parent, path=file_path)
