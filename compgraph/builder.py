"""The Python builder: symbolic variables with operator overloading, giving the same
:class:`~compgraph.graph.Graph` as the language does.

>>> from compgraph.parser import parse
>>> p = Program()
>>> x, y, z = p.inputs("x y z")
>>> a = p.let("a", x*y + z)
>>> b = p.let("b", a*(x + x))
>>> w = p.let("w", a*b + b)
>>> p.graph() == parse("a = x*y + z, b = a*(x + x), w = a*b + b")
True
>>> q = Program()
>>> u = q.input("u")
>>> v = q.let("v", relu(u) - 0.5*u)
>>> q.graph() == parse("v = relu(u) - 0.5*u")
True
>>> r = Program()
>>> z, W = r.inputs("z W")
>>> p = r.let("p", softmax(z, axis=0)[0] + sum(W[:, 1]) + reshape(W, [-1])[2])
>>> r.graph() == parse("p = softmax(z, axis=0)[0] + sum(W[:, 1]) + reshape(W, [-1])[2]")
True
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from .graph import Graph, GraphBuilder
from .ops import FUNCTIONS, OPS, POSTFIX, ParamError

Operand = Any  # Var | float | int | list


class Program:
    """Collects statements; :meth:`graph` returns the finished, immutable graph."""

    def __init__(self) -> None:
        self._builder = GraphBuilder()
        self._last: "Var | None" = None

    def input(self, name: str, default: Any = None) -> "Var":
        """An input; with ``default`` it is declared like ``x = 2.0`` in the language."""
        var = Var(self, self._builder.input(name, default))
        if default is not None:
            self._builder.bind(name, var.node)
        return var

    def inputs(self, names: str) -> tuple["Var", ...]:
        """Several inputs at once: ``x, y = p.inputs("x y")``."""
        return tuple(self.input(n) for n in names.replace(",", " ").split())

    def let(self, name: str, value: Operand) -> "Var":
        """The statement ``name = value``; returns the named variable."""
        var = self._lift(value)
        self._builder.bind(name, var.node)
        self._last = var
        return var

    def graph(self, output: "Var | str | None" = None) -> Graph:
        """The graph, with the output given as a variable, a name, or the last statement."""
        if isinstance(output, str):
            return self._builder.build().with_output(output)
        if isinstance(output, Var):
            return self._builder.build(output.node)
        return self._builder.build()

    def _lift(self, value: Operand) -> "Var":
        if isinstance(value, Var):
            if value.program is not self:
                raise ValueError("cannot mix variables of two Programs")
            return value
        return Var(self, self._builder.const(value))

    def apply(self, op: str, *args: Operand, **params: Any) -> "Var":
        """Apply the registry's operator ``op`` (its defaults fill omitted arguments).

        Static parameters are keywords (``axis=0``); a positional one may also follow the
        operands (``reshape(x, [2, 3])``), as in the language.
        """
        record = OPS[op]
        slots = [p.name for p in record.params if p.positional]
        operands, extra = args[:record.arity], args[record.arity:]
        if len(operands) < record.min_arity or len(extra) > len(slots):
            raise TypeError(f"{op}() takes {record.min_arity}..{record.arity + len(slots)} "
                            f"arguments, got {len(args)}")
        for name, value in zip(slots, extra):
            if name in params:
                raise TypeError(f"{op}() got {name} twice (by position and by keyword)")
            params[name] = value
        vars_ = [self._lift(a) for a in operands]
        nodes = [v.node for v in vars_]
        nodes += [self._builder.const(d) for d in record.defaults[len(operands) - record.min_arity:]]
        try:
            return Var(self, self._builder.apply(op, nodes, params=params))
        except ParamError as exc:
            kind = TypeError if exc.name not in {p.name for p in record.params} else ValueError
            raise kind(str(exc)) from None


class Var:
    """A node of a :class:`Program` under construction; arithmetic makes new nodes."""

    __array_priority__ = 1000  # numpy arrays on the left defer to Var's reflected operators

    def __init__(self, program: Program, node: int) -> None:
        self.program = program
        self.node = node

    def __repr__(self) -> str:
        return f"<Var node {self.node}>"

    def _bin(self, op: str, other: Operand, reflected: bool = False) -> "Var":
        p = self.program
        if reflected:
            return p.apply(op, p._lift(other), self)
        return p.apply(op, self, other)

    def __add__(self, o: Operand) -> "Var": return self._bin("add", o)
    def __radd__(self, o: Operand) -> "Var": return self._bin("add", o, True)
    def __sub__(self, o: Operand) -> "Var": return self._bin("sub", o)
    def __rsub__(self, o: Operand) -> "Var": return self._bin("sub", o, True)
    def __mul__(self, o: Operand) -> "Var": return self._bin("mul", o)
    def __rmul__(self, o: Operand) -> "Var": return self._bin("mul", o, True)
    def __truediv__(self, o: Operand) -> "Var": return self._bin("div", o)
    def __rtruediv__(self, o: Operand) -> "Var": return self._bin("div", o, True)
    def __pow__(self, o: Operand) -> "Var": return self._bin("pow", o)
    def __rpow__(self, o: Operand) -> "Var": return self._bin("pow", o, True)
    def __matmul__(self, o: Operand) -> "Var": return self._bin("matmul", o)
    def __rmatmul__(self, o: Operand) -> "Var": return self._bin("matmul", o, True)
    def __neg__(self) -> "Var": return self.program.apply("neg", self)
    def __pos__(self) -> "Var": return self

    def __getitem__(self, index: Any) -> "Var":
        """``x[0]``, ``W[:, 1]``, ``x[1:3]``: constant integers and slices, as in the language."""
        return self.program.apply(POSTFIX["[]"].name, self, index=index)

    def __iter__(self) -> None:
        # Without this, Python would iterate through __getitem__ until an IndexError that
        # never comes (the graph does not know shapes).
        raise TypeError("a compgraph variable cannot be iterated; index it with constants, "
                        "x[0], x[1], ...")


def _function(name: str) -> Callable[..., Var]:
    def call(*args: Operand, **params: Any) -> Var:
        program = next((a.program for a in args if isinstance(a, Var)), None)
        if program is None:
            raise TypeError(f"{name}() needs at least one compgraph variable")
        return program.apply(name, *args, **params)

    call.__name__ = name
    call.__doc__ = f"{name}: {OPS[name].doc}"
    return call


# relu, tanh, sigmoid, ... as module functions, straight from the registry.
_module = sys.modules[__name__]
for _name in FUNCTIONS:
    setattr(_module, _name, _function(_name))
