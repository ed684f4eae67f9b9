"""The gradient as a sum over paths (``compgraph.paths``, ``compgraph paths``): the homework's
seven paths, edge granularity, counting before listing, arrays, and the total against
reverse mode on random programs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given

import compgraph as cg
from compgraph import cli
from compgraph.errors import PathLimitError
from compgraph.pathsum import count_paths, paths
from test_properties import SETTINGS, program_text, programs, usable

HOMEWORK = "a = x*y+z, b = a*(x+x), w = a*b+b"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def homework():
    g = cg.parse(HOMEWORK)
    return g, cg.evaluate(g, x=2, y=3, z=1)


def test_done_when_command(capsys) -> None:
    code, out, err = run(capsys, "paths", HOMEWORK, "--wrt", "x", "--at", "x=2,y=3,z=1",
                         "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["output"] == "w" and doc["wrt"] == "x" and doc["total"] == 292.0
    products = [p["product"] for p in doc["paths"]]
    assert products == [84.0, 84.0, 12.0, 49.0, 49.0, 7.0, 7.0]  # the order
    assert sum(products) == 292.0
    for p in doc["paths"]:
        assert p["nodes"][0] == "x" and p["nodes"][-1] == "w"
        assert len(p["factors"]) == len(p["nodes"]) - 1
        assert np.prod(p["factors"]) == p["product"]
    assert list(doc) == ["output", "wrt", "count", "paths", "total"]


def test_paths_of_the_homework_grouped_by_first_step_in_backprop_order() -> None:
    g, values = homework()
    result = paths(g, values, "x")
    listed = [(result.titles(p), p.factors, p.product) for p in result.paths]
    assert listed == [
        (["x", "x*y", "a", "a*b", "w"], (3.0, 1.0, 28.0, 1.0), 84.0),
        (["x", "x*y", "a", "b", "a*b", "w"], (3.0, 1.0, 4.0, 7.0, 1.0), 84.0),
        (["x", "x*y", "a", "b", "w"], (3.0, 1.0, 4.0, 1.0), 12.0),
        (["x", "x+x", "b", "a*b", "w"], (1.0, 7.0, 7.0, 1.0), 49.0),
        (["x", "x+x", "b", "a*b", "w"], (1.0, 7.0, 7.0, 1.0), 49.0),
        (["x", "x+x", "b", "w"], (1.0, 7.0, 1.0), 7.0),
        (["x", "x+x", "b", "w"], (1.0, 7.0, 1.0), 7.0),
    ]
    # x + x: the two paths through it differ in the edge they take (operand 0, operand 1)
    twins = [p for p in result.paths if result.titles(p)[1] == "x+x"]
    assert {p.edges[0][1] for p in twins} == {0, 1}


def test_named_intermediates_and_other_outputs() -> None:
    g, values = homework()
    grads = cg.backward(g, values)
    for name in ("a", "b", "y", "z", "w"):
        assert paths(g, values, name).total == grads[name]
    assert [p.product for p in paths(g, values, "a").paths] == [28.0, 4.0, 28.0]
    # --output: the paths to another variable
    assert paths(g, values, "x", output="a").total == 3.0
    only = paths(g, values, "w")
    assert len(only.paths) == 1 and only.paths[0].factors == () and only.total == 1.0


def test_a_variable_that_does_not_reach_the_output(capsys) -> None:
    g = cg.parse("u = 2*y, w = 3*x")
    result = paths(g, cg.evaluate(g, x=1, y=1), "y")
    assert result.paths == () and result.total == 0.0
    code, out, _ = run(capsys, "paths", "u = 2*y, w = 3*x", "--wrt", "y", "--at", "x=1,y=1")
    assert code == 0 and "no paths" in out


def test_counting_is_dynamic_programming_and_the_limit_names_the_count(capsys) -> None:
    text = "h = x + x\n" + "h = h + h\n" * 59  # 2**60 paths: counted, never listed
    g = cg.parse(text)
    assert count_paths(g, 0) == 2 ** 60
    with pytest.raises(PathLimitError, match="1,152,921,504,606,846,976 paths") as info:
        paths(g, cg.evaluate(g, x=1), "x")
    assert info.value.count == 2 ** 60 and info.value.limit == 10_000
    code, _, err = run(capsys, "paths", text, "--wrt", "x", "--at", "x=1")
    assert code == 2 and "1,152,921,504,606,846,976 paths" in err and "--max-paths" in err
    assert "Traceback" not in err
    small = "h = x + x\n" + "h = h + h\n" * 3  # 16 paths
    code, _, err = run(capsys, "paths", small, "--wrt", "x", "--at", "x=1", "--max-paths", "8")
    assert code == 2 and "16 paths" in err
    code, out, _ = run(capsys, "paths", small, "--wrt", "x", "--at", "x=1", "--json")
    assert code == 0 and json.loads(out)["count"] == 16 and json.loads(out)["total"] == 16.0
    code, _, err = run(capsys, "paths", small, "--wrt", "x", "--at", "x=1", "--max-paths", "0")
    assert code == 2 and "positive" in err


def test_deep_chains_do_not_recurse() -> None:
    text = "h = x\n" + "h = tanh(h)\n" * 5000
    g = cg.parse(text)
    values = cg.evaluate(g, x=0.1)
    result = paths(g, values, "x")
    assert len(result.paths) == 1 and len(result.paths[0].edges) == 5000
    assert result.total == pytest.approx(cg.backward(g, values)["x"], rel=1e-12)


def test_arrays_carry_vector_jacobian_products(capsys) -> None:
    g = cg.parse("h = W @ x + x, C = sum(h * h)")
    values = cg.evaluate(g, W=[[1, 2], [3, 4]], x=[1, -1])
    result = paths(g, values, "x")
    assert not result.scalar and len(result.paths) == 4  # x feeds W@x and + x; h*h twice
    np.testing.assert_allclose(result.total, cg.backward(g, values)["x"])
    for p in result.paths:
        assert p.carried[0] is p.product and np.shape(p.product) == (2,)
        assert p.carried[-1] == 1.0  # the seed at the output
    code, out, err = run(capsys, "paths", "h = W @ x + x, C = sum(h * h)", "--wrt", "x",
                         "--at", "W=[[1,2],[3,4]],x=[1,-1]", "--json")
    doc = json.loads(out)
    assert code == 0 and "vector–Jacobian" in doc["note"]
    assert all(f is None for p in doc["paths"] for f in p["factors"])
    assert all(len(p["carried"]) == len(p["nodes"]) for p in doc["paths"])
    code, out, _ = run(capsys, "paths", "h = W @ x + x, C = sum(h * h)", "--wrt", "x",
                       "--at", "W=[[1,2],[3,4]],x=[1,-1]")
    assert "vector–Jacobian product" in out and "total" in out


def test_non_scalar_output_and_unknown_names(capsys) -> None:
    code, _, err = run(capsys, "paths", "y = 2*x", "--wrt", "x", "--at", "x=[1,2]")
    assert code == 1 and "scalar output" in err and "sum(...)" in err
    code, _, err = run(capsys, "paths", HOMEWORK, "--wrt", "q", "--at", "x=2,y=3,z=1")
    assert code == 2 and "'q'" in err
    code, _, err = run(capsys, "paths", HOMEWORK, "--at", "x=2,y=3,z=1")
    assert code == 2 and "--wrt" in err


def test_text_output_lines_up_the_products(capsys) -> None:
    code, out, _ = run(capsys, "paths", HOMEWORK, "--wrt", "x", "--at", "x=2,y=3,z=1")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("∂w/∂x as a sum over 7 paths")
    assert lines[-1] == "total ∂w/∂x = 292"
    # routes padded: the factors start in one column (the homework's names have no digits)
    assert len({next(k for k, ch in enumerate(line) if ch.isdigit()) for line in lines[1:-1]}) == 1
    assert "  x → x*y → a → b → a*b → w   3 × 1 × 4 × 7 × 1 = 84" in lines


def _check_total(statements, point) -> None:
    from hypothesis import assume

    g = cg.parse(program_text(statements))
    values = cg.evaluate(g, point)
    assume(usable(g, values) and not isinstance(values.output, np.ndarray))
    grads = cg.backward(g, values)
    for name in g.latest:
        result = paths(g, values, name, max_paths=100_000)
        want = np.asarray(grads[name], dtype=float)
        scale = 1.0 + float(np.max(np.abs(want)))
        np.testing.assert_allclose(np.asarray(result.total, dtype=float), want, rtol=1e-9,
                                   atol=1e-12 * scale, err_msg=f"sum over paths for {name}")
        if result.scalar:  # each product is its factors multiplied
            for p in result.paths:
                assert p.product == pytest.approx(float(np.prod(p.factors)), rel=1e-12,
                                                  abs=1e-300)


@SETTINGS
@given(programs(vectors=False))
def test_sum_over_paths_is_the_gradient_on_random_scalar_programs(drawn) -> None:
    _check_total(*drawn)


@SETTINGS
@given(programs(vectors=True))
def test_sum_over_paths_is_the_gradient_on_random_vector_programs(drawn) -> None:
    _check_total(*drawn)
