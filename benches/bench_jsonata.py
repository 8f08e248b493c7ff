"""JSONata: ``expressway.jsonata_evaluate`` against the pure-Python ``jsonata-python`` and the Rust-backed
``jsonatapy``, in the same run, on a handful of typical expressions over a ~1 KB document.

Each library evaluates an expression compiled once (``jsonata_evaluate`` caches what it compiles;
the others are given their compiled objects), from Python data to Python data, ``LOOP`` times a round.
All three must agree on every result before anything is timed. The expressway benchmark records the
ratios to the other two in ``extra_info`` (``x_jsonata_python``, ``x_jsonatapy``: how many times faster)
once the baselines of the same expression have run; the baselines are skipped when their package is
not installed (``make bench`` and ``make bench-quick`` install both). ``x_jsonatapy_bounded`` compares
with jsonatapy given the same time limit as expressway's default (10 s): jsonatapy has none unless
asked, and the evaluator they share reads the clock at every step when it has one.

``EXPRESSWAY_BENCH_QUICK=1`` runs each benchmark once with a short loop.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

import pytest
from _support import QUICK

import expressway

try:
    import jsonata as jsonata_python  # the jsonata-python package
except ImportError:  # pragma: no cover - depends on the environment
    jsonata_python = None
try:
    import jsonatapy
except ImportError:  # pragma: no cover
    jsonatapy = None

LOOP = 5 if QUICK else 200
DEFAULT_TIMEOUT_MS = 10_000  # expressway.jsonata_evaluate's default time limit

DOCUMENT: dict[str, Any] = {
    "order": {
        "id": "ORD-2024-0001",
        "placed": "2024-11-15T16:28:14Z",
        "customer": {
            "id": 4711,
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "tier": "gold",
            "address": {"street": "12 Analytical Way", "city": "London", "zip": "N1 9GU", "country": "GB"},
        },
        "items": [
            {
                "sku": "SKU-0001",
                "name": "Difference engine",
                "price": 1299.5,
                "qty": 1,
                "tags": ["hw", "vintage"],
            },
            {"sku": "SKU-0002", "name": "Punched cards", "price": 3.25, "qty": 400, "tags": ["consumable"]},
            {"sku": "SKU-0003", "name": "Brass gears", "price": 12.0, "qty": 24, "tags": ["hw", "spare"]},
            {"sku": "SKU-0004", "name": "Manual", "price": 45.9, "qty": 2, "tags": ["docs"]},
            {"sku": "SKU-0005", "name": "Oil can", "price": 7.75, "qty": 3, "tags": ["consumable", "spare"]},
        ],
        "shipping": {"method": "express", "cost": 25, "insured": True},
        "notes": None,
    },
    "meta": {"source": "web", "attempt": 1, "trace": "a1b2c3d4e5f6", "flags": ["priority", "gift"]},
}

EXPRESSIONS: dict[str, str] = {
    "path": "order.customer.address.city",
    "filter": "order.items[price > 10 and 'hw' in tags].sku",
    "aggregate": "$sum(order.items.(price * qty)) + order.shipping.cost",
    "construct": (
        "{ 'id': order.id, 'customer': $uppercase(order.customer.name), 'lines': $count(order.items), "
        "'skus': order.items.sku, 'total': $round($sum(order.items.(price * qty)), 2) }"
    ),
    "map-string": "$join($map(order.items, function($i) { $i.sku & 'x' & $string($i.qty) }), ',')",
    "sort-conditional": (
        "(order.items^(>price)).{ 'name': name, 'band': price > 100 ? 'high' : price > 10 ? 'mid' : 'low' }"
    ),
}

assert 800 <= len(json.dumps(DOCUMENT)) <= 1400, len(json.dumps(DOCUMENT))

# Per-expression means (seconds per evaluation) of the baselines that have run, for the ratios.
_BASELINES: dict[tuple[str, str], float] = {}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _expressway(expr: str) -> Callable[[Any], Any]:
    return lambda data: expressway.jsonata_evaluate(expr, data)


def _jsonata_python(expr: str) -> Callable[[Any], Any]:
    assert jsonata_python is not None
    compiled = jsonata_python.Jsonata(expr)
    return compiled.evaluate


def _jsonatapy(expr: str) -> Callable[[Any], Any]:
    assert jsonatapy is not None
    compiled = jsonatapy.compile(expr)
    return compiled.evaluate


def _jsonatapy_bounded(expr: str) -> Callable[[Any], Any]:
    """jsonatapy with the time limit expressway always applies (10 s by default): jsonatapy's own
    default is no limit, and a limit costs a clock read at every step of the evaluation."""
    assert jsonatapy is not None
    compiled = jsonatapy.compile(expr)
    return lambda data: compiled.evaluate(data, timeout=DEFAULT_TIMEOUT_MS)


def _reference(name: str) -> Any:
    return expressway.jsonata_evaluate(EXPRESSIONS[name], DOCUMENT)


def _per_call(benchmark, group: str, call: Callable[[], Any]) -> float:
    """Seconds per `call()`, timed in loops of LOOP calls (once with EXPRESSWAY_BENCH_QUICK)."""

    def loop() -> None:
        for _ in range(LOOP):
            call()

    benchmark.group = group
    if QUICK:
        benchmark.pedantic(loop, rounds=1, iterations=1)
    else:
        benchmark.pedantic(loop, rounds=10, warmup_rounds=1)
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        return stats.stats.mean / LOOP
    # --benchmark-disable: time one loop ourselves
    start = time.perf_counter()
    loop()
    return (time.perf_counter() - start) / LOOP


def _run(benchmark, name: str, library: str, make: Callable[[str], Callable[[Any], Any]]) -> float:
    evaluate = make(EXPRESSIONS[name])
    result = evaluate(DOCUMENT)
    assert result is not expressway.UNDEFINED and result is not None
    assert _same(result, _reference(name)), (library, name, result, _reference(name))

    per_eval = _per_call(benchmark, f"jsonata {name}", lambda: evaluate(DOCUMENT))
    benchmark.extra_info.update(
        {"library": library, "expression": name, "evaluations_per_second": round(1.0 / per_eval, 1)}
    )
    return per_eval


@pytest.mark.skipif(jsonata_python is None, reason="jsonata-python is not installed")
@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_jsonata_python(benchmark, name: str) -> None:
    _BASELINES[("jsonata-python", name)] = _run(benchmark, name, "jsonata-python", _jsonata_python)


@pytest.mark.skipif(jsonatapy is None, reason="jsonatapy is not installed")
@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_jsonatapy(benchmark, name: str) -> None:
    _BASELINES[("jsonatapy", name)] = _run(benchmark, name, "jsonatapy", _jsonatapy)


@pytest.mark.skipif(jsonatapy is None, reason="jsonatapy is not installed")
@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_jsonatapy_bounded(benchmark, name: str) -> None:
    _BASELINES[("jsonatapy-bounded", name)] = _run(benchmark, name, "jsonatapy-bounded", _jsonatapy_bounded)


@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_expressway(benchmark, name: str) -> None:
    per_eval = _run(benchmark, name, "expressway", _expressway)
    for library, key in (
        ("jsonata-python", "x_jsonata_python"),
        ("jsonatapy", "x_jsonatapy"),
        ("jsonatapy-bounded", "x_jsonatapy_bounded"),
    ):
        baseline = _BASELINES.get((library, name))
        if baseline is not None:
            benchmark.extra_info[key] = round(baseline / per_eval, 2)


# ------------------------------------------------------------------ JSONata inside a state machine

STATES = 10
# The same four fields, computed by each query language: a JSONata state machine against its
# JSONPath twin in the same run (the bare engine's cost for the same data movement).
FIELDS = {
    "JSONata": {
        "id": "{% $states.input.order.id %}",
        "skus": "{% $states.input.order.items[price > 10].sku %}",
        "order": "{% $states.input.order %}",
        "meta": "{% $states.input.meta %}",
    },
    "JSONPath": {
        "id.$": "$.order.id",
        "skus.$": "$.order.items[?(@.price > 10)].sku",
        "order.$": "$.order",
        "meta.$": "$.meta",
    },
}
_STATE_RATES: dict[str, float] = {}


def _state_machine(language: str) -> expressway.StateMachine:
    field = "Output" if language == "JSONata" else "Parameters"
    states = {}
    for i in range(STATES):
        ending = {"Next": f"S{i + 1}"} if i < STATES - 1 else {"End": True}
        states[f"S{i}"] = {"Type": "Pass", field: FIELDS[language], **ending}
    return expressway.StateMachine({"QueryLanguage": language, "StartAt": "S0", "States": states})


@pytest.mark.parametrize("language", ["JSONPath", "JSONata"])
def test_state_machine(benchmark, language: str) -> None:
    """Executions/s of 10 Pass states each making four fields from a ~1 KB input; JSONata's ratio
    to the JSONPath twin (`x_jsonpath`) once the twin has run."""
    machine = _state_machine(language)
    result = machine.run(DOCUMENT, time_scale=0)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == _state_machine("JSONPath").run(DOCUMENT, time_scale=0).output

    per_run = _per_call(benchmark, "jsonata state machine", lambda: machine.run(DOCUMENT, time_scale=0))
    _STATE_RATES[language] = 1.0 / per_run
    benchmark.extra_info.update(
        {
            "state_machine": f"{STATES} Pass states, 4 fields",
            "language": language,
            "executions_per_second": round(1.0 / per_run, 1),
            "transitions_per_second": round(STATES / per_run, 1),
        }
    )
    if language == "JSONata" and "JSONPath" in _STATE_RATES:
        benchmark.extra_info["x_jsonpath"] = round(_STATE_RATES["JSONata"] / _STATE_RATES["JSONPath"], 2)
