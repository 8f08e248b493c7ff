"""expressway.jsonata_evaluate: the public JSONata API (results, UNDEFINED, input, bindings, errors, AWS's
functions)."""

from __future__ import annotations

import hashlib
import inspect
import json
import pickle
import re
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import MappingProxyType
from typing import Any

import pytest

import expressway
from expressway import UNDEFINED, JsonataError, jsonata_evaluate


def test_results_are_python_values() -> None:
    doc = {"a": {"b": [1, 2.5, 3]}, "s": "x", "t": True, "n": None}
    assert jsonata_evaluate("a.b", doc) == [1, 2.5, 3]
    assert jsonata_evaluate("$sum(a.b)", doc) == 6.5
    total = jsonata_evaluate("a.b[0] + 1", doc)
    assert total == 2 and type(total) is int
    assert jsonata_evaluate("{'k': s, 'v': t, 'z': n}", doc) == {"k": "x", "v": True, "z": None}
    assert jsonata_evaluate("$keys($)", {"z": 1, "a": 2, "m": 3}) == ["z", "a", "m"]


def test_undefined_is_a_singleton_distinct_from_none() -> None:
    assert jsonata_evaluate("missing", {"a": 1}) is UNDEFINED
    assert jsonata_evaluate("a[b > 5]", {"a": [{"b": 1}]}) is UNDEFINED
    assert UNDEFINED is not None and not UNDEFINED
    assert repr(UNDEFINED) == "expressway.UNDEFINED"
    assert type(UNDEFINED)() is UNDEFINED
    assert pickle.loads(pickle.dumps(UNDEFINED)) is UNDEFINED
    assert jsonata_evaluate("n", {"n": None}) is None


def test_data_missing_versus_none() -> None:
    assert jsonata_evaluate("$") is UNDEFINED
    assert jsonata_evaluate("$", None) is None
    assert jsonata_evaluate("$", data=None) is None
    assert jsonata_evaluate("$exists($)") is False
    assert jsonata_evaluate("$type($)", None) == "null"
    assert jsonata_evaluate("$type($)") is UNDEFINED
    assert jsonata_evaluate("1 + 2") == 3


def test_bindings() -> None:
    assert jsonata_evaluate("$x.y + 1", bindings={"x": {"y": 41}}) == 42
    assert jsonata_evaluate("$a & $b", {}, {"a": "p", "b": "q"}) == "pq"
    assert jsonata_evaluate("$v", bindings=OrderedDict(v=[1, 2])) == [1, 2]
    assert jsonata_evaluate("$nope", bindings={}) is UNDEFINED
    assert jsonata_evaluate("$x", {"x": 1}, None) is UNDEFINED


def test_errors_carry_the_jsonata_code() -> None:
    with pytest.raises(JsonataError) as e:
        jsonata_evaluate("'a' + 1")
    assert e.value.code == "T2001"
    assert "left side" in e.value.message
    assert str(e.value).startswith("T2001: ")
    with pytest.raises(JsonataError) as e:
        jsonata_evaluate("$string(1/0)")
    assert e.value.code == "D3001"
    with pytest.raises(JsonataError) as e:
        jsonata_evaluate("1 +")
    assert e.value.code.startswith("S0")
    with pytest.raises(JsonataError) as e:
        jsonata_evaluate("(", {})
    assert e.value.code.startswith("S0")
    assert isinstance(e.value, Exception)


def test_limits_give_u1001() -> None:
    recurse = "($f := function($n){ $n = 0 ? 0 : 1 + $f($n - 1) }; $f(1000))"
    with pytest.raises(JsonataError) as e:
        jsonata_evaluate(recurse, max_depth=100)
    assert e.value.code == "U1001"
    with pytest.raises(JsonataError) as e:
        jsonata_evaluate("($inf := function(){ $inf() }; $inf())", timeout_ms=50)
    assert e.value.code == "U1001"
    assert e.value.message == "Evaluation timeout after 50 milliseconds. Check for infinite loop"
    assert jsonata_evaluate(recurse) == 1000


def test_a_time_limit_stops_a_loop_with_no_function_calls() -> None:
    # A long $reduce/$map chain: no recursion, only the time limit can stop it.
    with pytest.raises(JsonataError) as e:
        jsonata_evaluate("$sum($map([1..10000000], function($v){ $v * 2 }))", timeout_ms=30)
    assert e.value.code == "U1001"


def test_data_is_read_lazily_and_untouched_parts_are_the_callers_own() -> None:
    inner = {"b": [1, 2]}
    doc = {"a": inner, "odd": {1, 2}}
    # What the expression does not read is never converted, so it need not be JSON-like...
    assert jsonata_evaluate("a.b[1]", doc) == 2
    # ...and a dict handed back untouched is the caller's object, not a copy.
    assert jsonata_evaluate("a", doc) is inner
    # A value that is read must be JSON-like, as when data is converted whole.
    with pytest.raises(TypeError):
        jsonata_evaluate("odd", doc)
    # Results built by the expression are new values.
    built = jsonata_evaluate("{'copy': a.b}", doc)
    assert built == {"copy": [1, 2]} and built["copy"] is not inner["b"]


def test_tuples_and_big_ints_anywhere_in_the_data() -> None:
    # The lazy reader takes neither; the data is then converted whole, as it always was.
    assert jsonata_evaluate("a", {"a": (1, 2)}) == [1, 2]
    assert jsonata_evaluate("$", [(1, 2)]) == [[1, 2]]
    assert jsonata_evaluate("n", {"n": 2**64}) == float(2**64)
    assert jsonata_evaluate("$count(x)", {"x": [{"t": (1,)}, {"t": (2,)}]}) == 2


def test_max_depth_holds_for_every_expression() -> None:
    # (also for those without bindings, which the evaluator runs on its bytecode machine)
    with pytest.raises(JsonataError) as e:
        jsonata_evaluate("[[[[[[[[1]]]]]]]]", {"a": 1}, max_depth=3)
    assert e.value.code == "U1001"
    assert jsonata_evaluate("[[[[[[[[1]]]]]]]]", {"a": 1}) == [[[[[[[[1]]]]]]]]


def test_bad_arguments() -> None:
    with pytest.raises(TypeError):
        jsonata_evaluate(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        jsonata_evaluate("$", {1, 2})
    with pytest.raises(TypeError):
        jsonata_evaluate("$x", bindings={1: 2})  # type: ignore[dict-item]


def test_data_by_keyword_and_bindings_by_position_or_keyword() -> None:
    doc = {"a": 1}
    assert jsonata_evaluate("a", data=doc) == 1
    assert jsonata_evaluate(expression="a", data=doc) == 1
    assert jsonata_evaluate("a + $b", doc, {"b": 2}) == 3
    assert jsonata_evaluate("a + $b", data=doc, bindings={"b": 2}) == 3
    assert jsonata_evaluate("$b", bindings={"b": 2}) == 2  # no data, bindings by keyword
    assert jsonata_evaluate("$type($)", data=None) == "null"
    assert jsonata_evaluate("$type($)", None, {"b": 2}) == "null"
    assert jsonata_evaluate("$type($)", bindings={"b": 2}) is UNDEFINED
    assert jsonata_evaluate("$", 0) == 0 and jsonata_evaluate("$", False) is False
    with pytest.raises(TypeError):
        jsonata_evaluate("$", {}, None, 5000)  # type: ignore[misc]  # timeout_ms is keyword-only
    with pytest.raises(TypeError):
        jsonata_evaluate("$", nope=1)  # type: ignore[call-arg]


def test_bindings_may_be_any_mapping() -> None:
    class Variables(Mapping[str, Any]):
        def __init__(self, **values: Any) -> None:
            self._values = values

        def __getitem__(self, name: str) -> Any:
            return self._values[name]

        def __iter__(self) -> Iterator[str]:
            return iter(self._values)

        def __len__(self) -> int:
            return len(self._values)

    assert jsonata_evaluate("$x + $y", bindings=Variables(x=1, y=2)) == 3
    assert jsonata_evaluate("$x", {}, MappingProxyType({"x": [1]})) == [1]
    assert jsonata_evaluate("$x", bindings=Variables()) is UNDEFINED
    with pytest.raises(TypeError):
        jsonata_evaluate("$x", bindings=5)  # type: ignore[arg-type]


def test_the_cache_of_compiled_expressions_holds_more_than_fit() -> None:
    # More distinct expressions than the cache keeps (1024): each is right, before and after the
    # cache has been emptied to make room.
    texts = [f"$ + {i}" for i in range(2500)]
    for _ in range(2):
        assert [jsonata_evaluate(t, 1) for t in texts] == [i + 1 for i in range(2500)]
    # The same text from a different str object, and from a str subclass, finds the same entry.
    assert jsonata_evaluate("".join(["$ + ", "7"]), 1) == 8

    class Text(str):
        def __hash__(self) -> int:
            raise AssertionError("the cache does not call methods of a str subclass")

    assert jsonata_evaluate(Text("$ + 7"), 1) == 8
    with pytest.raises(JsonataError):
        jsonata_evaluate(Text("$ +"), 1)


def test_errors_are_expressway_jsonata_errors() -> None:
    for expression, code in [("(", "S0"), ("'a' + 1", "T2001"), ("$string(1/0)", "D3001"), ("1/0", "D1001")]:
        with pytest.raises(JsonataError) as e:
            jsonata_evaluate(expression, {})
        assert type(e.value) is expressway.JsonataError
        assert e.value.code.startswith(code), (expression, e.value.code)
        assert e.value.message and str(e.value) == f"{e.value.code}: {e.value.message}"
        assert e.value.args == (str(e.value),)
    # A syntax error is not cached: the same text fails again, the same way.
    with pytest.raises(JsonataError) as again:
        jsonata_evaluate("(", {})
    assert again.value.code.startswith("S0")


def test_a_non_str_expression_is_a_type_error() -> None:
    for value, name in [(42, "int"), (b"a", "bytes"), (None, "NoneType")]:
        with pytest.raises(TypeError, match=f"^expression must be a str, not {name}$"):
            jsonata_evaluate(value)  # type: ignore[arg-type]


def test_calls_from_several_threads() -> None:
    def work(n: int) -> list[Any]:
        return [jsonata_evaluate(f"k * $n + {i % 50}", {"k": 2}, {"n": n}) for i in range(300)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(8)))
    assert results == [[2 * n + i % 50 for i in range(300)] for n in range(8)]


def test_the_function_is_documented() -> None:
    assert jsonata_evaluate.__doc__ is not None
    assert jsonata_evaluate.__doc__.startswith("Evaluate the JSONata ``expression`` against ``data``")
    parameters = inspect.signature(jsonata_evaluate).parameters
    assert list(parameters) == ["expression", "data", "bindings", "timeout_ms", "max_depth"]
    assert parameters["timeout_ms"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["max_depth"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["bindings"].default is None


def test_eval_is_not_available() -> None:
    with pytest.raises(JsonataError):
        jsonata_evaluate("$eval('1 + 1')")


# --------------------------------------------------------------------------------- AWS's functions


def test_partition() -> None:
    assert jsonata_evaluate("$partition([1,2,3,4,5], 2)") == [[1, 2], [3, 4], [5]]
    assert jsonata_evaluate("$partition([0], 2)") == [[0]]
    assert jsonata_evaluate("$partition(x, 1)", {"x": [0, 1, 2]}) == [[0], [1], [2]]
    with pytest.raises(JsonataError):
        jsonata_evaluate("$partition([1], 0)")


def test_range() -> None:
    assert jsonata_evaluate("$range(0, 10, 2)") == [0, 2, 4, 6, 8, 10]
    assert jsonata_evaluate("$range(0, 10, 3)") == [0, 3, 6, 9]
    assert jsonata_evaluate("$range(1, 9, 9)") == 1  # a one-item sequence, as AWS returns it
    assert jsonata_evaluate("$range(10, 0, -5)") == [10, 5, 0]
    with pytest.raises(JsonataError):
        jsonata_evaluate("$range(0, 1, 0)")
    with pytest.raises(JsonataError):
        jsonata_evaluate("$range(0, 100000, 1)")


def test_hash() -> None:
    text = "input data"
    for alg, fn in [
        ("MD5", hashlib.md5),
        ("SHA-1", hashlib.sha1),
        ("SHA-256", hashlib.sha256),
        ("SHA-384", hashlib.sha384),
        ("SHA-512", hashlib.sha512),
    ]:
        assert jsonata_evaluate(f"$hash(t, '{alg}')", {"t": text}) == fn(text.encode()).hexdigest()
    assert jsonata_evaluate("$hash('abc')") == hashlib.sha256(b"abc").hexdigest()
    with pytest.raises(JsonataError):
        jsonata_evaluate("$hash('a', 'SHA-3')")
    with pytest.raises(JsonataError) as e:
        jsonata_evaluate("$hash(1)")
    assert e.value.code == "T0410"


def test_random_and_uuid() -> None:
    values = [jsonata_evaluate("$random()") for _ in range(20)]
    assert all(0 <= v < 1 for v in values) and len(set(values)) > 1
    assert jsonata_evaluate("$random(42)") == jsonata_evaluate("$random(42)")
    assert jsonata_evaluate("$random(42)") != jsonata_evaluate("$random(43)")
    uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    a, b = jsonata_evaluate("[$uuid(), $uuid()]")
    assert uuid.match(a) and uuid.match(b) and a != b


def test_parse() -> None:
    assert jsonata_evaluate("$parse(s)", {"s": json.dumps({"Arg1": 1, "Arg2": []})}) == {
        "Arg1": 1,
        "Arg2": [],
    }
    assert jsonata_evaluate("$parse('-0')") == 0
    assert jsonata_evaluate("$parse('1.1')") == 1.1
    assert jsonata_evaluate("$parse('true')") is True
    with pytest.raises(JsonataError):
        jsonata_evaluate("$parse('{')")


def test_exports() -> None:
    for name in ("jsonata_evaluate", "JsonataError", "UNDEFINED"):
        assert name in expressway.__all__
