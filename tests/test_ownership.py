"""Reverse mode writes only into arrays it allocated itself (issue 7, item 4).

The batched sweep adds fan-in contributions in place. Which arrays it may write is known
from the registry (a rule marked ``fresh`` returns a new array) and from the sums the
engine makes, never guessed from CPython's reference counts. These tests hold the
registry's claims, and hold every input, value and seed unchanged after ``backward`` on
random fan-out programs of several shapes.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
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


SPECIALS = np.array([0.0, -0.0, 1.5, -2.0, 1e308, -1e308, np.inf, -np.inf, np.nan, 1e-310])


@pytest.mark.parametrize("name", sorted(n for n in OPS if OPS[n].into is not None))
def test_into_is_the_forward_written_into_an_array(name: str) -> None:
    # Evaluation computes an operation into its operand's array only where the operator
    # says how (Op.into): the same bits as the forward, every special value included, and
    # a forward that always makes a new array (so that evaluation owns what it took over).
    op = OPS[name]
    assert op.reads is not None, f"{name}: an operator with into says what its rules read"
    rng = np.random.default_rng(len(name))
    grid = np.meshgrid(SPECIALS, SPECIALS) if op.arity == 2 else [SPECIALS]
    # every pair of special values: elementwise, or as the matrices a product pairs up
    cases = [tuple(a if name == "matmul" else a.ravel() for a in grid)]
    cases += [tuple(rng.uniform(-2, 2, s) if s else float(rng.uniform(-2, 2)) for s in shapes)
              for shapes in _shape_menu(name)]
    for args in cases:
        with np.errstate(all="ignore"):  # inf*0 inside a product, as evaluation runs it
            want = op.forward(*args)
        if name == "matmul" and np.ndim(want) == 0:
            # a product of two vectors is a number: nothing to write into, and the
            # forward on arrays gives that number as the forward does
            assert op.into(None, *args) == want and type(op.into(None, *args)) is float
            continue
        assert isinstance(want, np.ndarray)
        assert not any(isinstance(a, np.ndarray) and np.shares_memory(want, a) for a in args)
        out = np.full(want.shape, 7.0)
        with np.errstate(all="ignore"):  # as evaluation runs it
            op.into(out, *args)
            new = op.into(None, *args)  # the forward on arrays, without its wrappers
        for got in (out, new):
            np.testing.assert_array_equal(got, want)
            assert np.array_equal(np.signbit(got), np.signbit(want))
        assert type(new) is np.ndarray and new.base is None
        assert not any(isinstance(a, np.ndarray) and np.shares_memory(new, a) for a in args)


class Poison:
    """A value no rule may read: any arithmetic, comparison or conversion raises."""

    __array_ufunc__ = None  # NumPy hands every operation back to Python, which finds none

    def __array__(self, *args, **kw):
        raise AssertionError("a rule read a value it says it does not read")

    def __getattr__(self, name: str):
        raise AssertionError(f"a rule read .{name} of a value it says it does not read")


@pytest.mark.parametrize("name", sorted(n for n in OPS if OPS[n].reads is not None))
def test_rules_read_only_what_they_say(name: str) -> None:
    # Evaluation does not keep a value that no reverse rule to be run reads (Op.reads):
    # each rule, and each partial, gives the same result with every other value poisoned.
    op = OPS[name]
    assert len(op.reads) == op.arity
    rng = np.random.default_rng(len(name) + 1)
    for shapes in _shape_menu(name):
        args = tuple(rng.uniform(0.1, 0.9, s) if s else float(rng.uniform(0.1, 0.9))
                     for s in shapes)
        out = op.forward(*args)
        g = rng.uniform(-1, 1, np.shape(out)) if np.ndim(out) else 0.5
        for k, reads in enumerate(op.reads):
            hidden_out = out if "o" in reads else Poison()
            hidden = tuple(a if str(m) in reads else Poison() for m, a in enumerate(args))
            np.testing.assert_array_equal(op.vjp[k](g, hidden_out, *hidden),
                                          op.vjp[k](g, out, *args))
            if op.partials is not None:
                np.testing.assert_array_equal(op.partials[k](hidden_out, *hidden),
                                              op.partials[k](out, *args))


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


FAN_OUT = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow])


@FAN_OUT
@given(fan_out_programs())
def test_backward_leaves_inputs_and_values_alone_on_fan_out_programs(drawn) -> None:
    _leaves_alone(drawn)


@FAN_OUT
@given(fan_out_programs())
def test_the_same_with_intermediates_computed_in_place(drawn) -> None:
    # Evaluation computing an anonymous intermediate's only user into its array (on any
    # array, not only large ones): still nothing the caller gave is written, and nothing
    # evaluation kept, and the same gradients.
    with in_place_everywhere():
        _leaves_alone(drawn)


@contextmanager
def in_place_everywhere():
    """Evaluation takes over intermediates' arrays whatever their size."""
    module = importlib.import_module("compgraph.evaluate")
    saved = module.IN_PLACE_BYTES
    module.IN_PLACE_BYTES = 0
    try:
        yield
    finally:
        module.IN_PLACE_BYTES = saved


def _leaves_alone(drawn) -> None:
    text, point = drawn
    g = cg.parse(text)
    point = {n: v for n, v in point.items() if n in g.input_names}
    copies = {n: np.array(v, copy=True) for n, v in point.items()}
    values = cg.evaluate(g, point)
    before = _snapshot(values)
    out_shape = np.shape(values.output)
    rng = np.random.default_rng(0)
    for seed in (np.ones(out_shape), rng.uniform(-1, 1, out_shape), 1.0):
        seed_copy = np.copy(seed)
        grads = cg.backward(g, values, seed=seed)
        _ = grads.edges
        np.testing.assert_array_equal(seed, seed_copy)
        _unchanged(values, before, point, copies)
        # the gradients are J^T seed, from forward mode (which writes nothing in place)
        for name in g.input_names:
            jac = cg.jacobian(g, name, values=values, mode="forward")
            want = np.tensordot(np.broadcast_to(seed, out_shape), jac, axes=len(out_shape))
            np.testing.assert_allclose(grads[name], want, rtol=1e-10, atol=1e-12)
        # an adjoint that shares memory with a value or the seed is read-only, so writing
        # into what backward returned cannot reach them either
        held = [v for v in values.nodes if isinstance(v, np.ndarray)] + [np.asarray(seed)]
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
