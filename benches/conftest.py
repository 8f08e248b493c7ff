"""pytest-benchmark workloads live here (placeholder: the suite comes with a later issue).

Run them with `.venv/bin/pytest benches`; they are not part of `make test`.
"""
