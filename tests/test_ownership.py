"""Reverse mode writes only into arrays it allocated itself (issue 7, item 4).

The batched sweep adds fan-in contributions in place. Which arrays it may write is known
from the registry (a rule marked ``fresh`` returns a new array) and from the sums the
engine makes, never guessed from CPython's reference counts. These tests hold the
registry's claims, and hold every input, value and seed unchanged after ``backward`` on
random fan-out programs of several shapes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import compgraph as cg
from compgraph import OPS

PACKAGE = Path(__file__).resolve().parents[1] / "compgraph"


def test_no_reference_counting_anywhere() -> None:
    offenders = [str(p.relative_to(PACKAGE.parent)) for p in PACKAGE.rglob("*.py")
                 if "getrefcount" in p.read_text(encoding="utf-8")]
    assert offenders == []


# Operators that need parameters, or particular shapes, to be called at all.
_PARAMS = {"reshape": {"shape": (-1,)}, "index": {"index": (0,)}}


def _shape_menu(name: str) -> list[tuple[tuple[int, ...], ...]]:
    op = OPS[name]
    if name == "matmul":
        return [((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((3,), (3,))]
    if name == "outer":
        return [((3,), (2,)), ((3,), (3,))]
    if op.arity == 1:
        return [((3,),), ((2, 3),)]
    if op.cost:
        return [((3,), (3,)), ((2, 3), (2, 3))]
    return [((3,), (3,)), ((2, 3), (3,)), ((), (2, 3)), ((2, 3), ())]


@pytest.mark.parametrize("name", sorted(OPS))
def test_rules_marked_fresh_return_new_arrays(name: str) -> None:
    op = OPS[name]
    assert len(op.fresh) in (0, op.arity), f"{name}: one fresh flag per operand, or none"
    rng = np.random.default_rng(len(name))
    for shapes in _shape_menu(name):
        args = tuple(rng.uniform(0.1, 0.9, s) if s else float(rng.uniform(0.1, 0.9))
                     for s in shapes)
        params = _PARAMS.get(name, {})
        out = op.forward(*args, **params)
        g = rng.uniform(-1, 1, np.shape(out)) if np.ndim(out) else 0.5
        held = [a for a in (g, out, *args) if isinstance(a, np.ndarray)]
        for k, fresh in enumerate(op.fresh):
            if not fresh:
                continue
            c = op.vjp[k](g, out, *args, **params)
            if isinstance(c, np.ndarray):
                assert all(c is not a and not np.shares_memory(c, a) for a in held), \
                    f"{name}: reverse rule {k} is marked fresh but returns an array it was given"


# --- fan-out programs ----------------------------------------------------------------------

FORMS = ["{p} + {q}", "{p} - {q}", "{p} * {q}", "{p} * {p}", "-{p}", "tanh({p}) * {q}",
         "relu({p}) + {q}", "sigmoid({p})", "exp(tanh({p}))", "{p} / (1.5 + sin({q}))",
         "leaky_relu({p}, 0.2)", "sum({p}) * {q}", "mean({q}) + {p}", "{p} + {p} + {q}",
         "abs({p}) - {q} * {q}"]
BATCHES = [(3,), (2, 3), (4, 1)]


@st.composite
def fan_out_programs(draw):
    batch = draw(st.sampled_from(BATCHES))
    # inputs: the batch shape, a bias (its last axis) or a scalar; none larger than the batch
    shapes = {"x": batch, "y": draw(st.sampled_from([batch, batch[-1:], ()])),
              "z": draw(st.sampled_from([batch, ()]))}
    names = list(shapes)
    lines = []
    for k in range(draw(st.integers(2, 8))):
        p = draw(st.sampled_from(names))
        q = draw(st.sampled_from(names))
        lines.append(f"v{k} = " + draw(st.sampled_from(FORMS)).format(p=p, q=q))
        names.append(f"v{k}")
    # The output has the batch's shape (x fans out to it as well); under a seed of ones
    # the last statement's adjoint is the value of the one before it.
    lines.append(f"out = {names[-1]} * {names[-2]} * (x + x) + x")
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    point = {n: rng.uniform(-1, 1, s) if s else float(rng.uniform(-1, 1)) for n, s in shapes.items()}
    return "\n".join(lines), point


def _snapshot(values: cg.Values) -> list:
    return [np.array(v, copy=True) for v in values.nodes]


def _unchanged(values: cg.Values, before: list, point: dict, copies: dict) -> None:
    for v, b in zip(values.nodes, before):
        np.testing.assert_array_equal(v, b)
    for n, v in point.items():
        np.testing.assert_array_equal(v, copies[n])


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(fan_out_programs())
def test_backward_leaves_inputs_and_values_alone_on_fan_out_programs(drawn) -> None:
    text, point = drawn
    g = cg.parse(text)
    point = {n: v for n, v in point.items() if n in g.input_names}
    copies = {n: np.array(v, copy=True) for n, v in point.items()}
    values = cg.evaluate(g, point)
    before = _snapshot(values)
    out_shape = np.shape(values.output)
    rng = np.random.default_rng(0)
    for seed in (np.ones(out_shape), rng.uniform(-1, 1, out_shape)):
        seed_copy = seed.copy()
        grads = cg.backward(g, values, seed=seed)
        _ = grads.edges
        np.testing.assert_array_equal(seed, seed_copy)
        _unchanged(values, before, point, copies)
        # the gradients are J^T seed, from forward mode (which writes nothing in place)
        for name in g.input_names:
            jac = cg.jacobian(g, name, values=values, mode="forward")
            want = np.tensordot(seed, jac, axes=len(out_shape))
            np.testing.assert_allclose(grads[name], want, rtol=1e-10, atol=1e-12)
        # an adjoint that shares memory with a value or the seed is read-only, so writing
        # into what backward returned cannot reach them either
        held = [v for v in values.nodes if isinstance(v, np.ndarray)] + [seed]
        for adj in grads.nodes:
            if isinstance(adj, np.ndarray) and any(np.shares_memory(adj, h) for h in held):
                assert not adj.flags.writeable
        for adj in grads.nodes:
            if isinstance(adj, np.ndarray) and adj.flags.writeable:
                adj += 1.0
        _unchanged(values, before, point, copies)
        np.testing.assert_array_equal(seed, seed_copy)
    # the same through a scalar output (seeded with the float 1.0)
    total = cg.parse(text + "\nloss = sum(out)")
    tvalues = cg.evaluate(total, point)
    tbefore = _snapshot(tvalues)
    first = cg.backward(total, tvalues)
    again = cg.backward(total, tvalues)
    _unchanged(tvalues, tbefore, point, copies)
    for a, b in zip(first.nodes, again.nodes):
        np.testing.assert_array_equal(a if a is not None else 0.0, b if b is not None else 0.0)
