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
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from .graph import Graph, GraphBuilder
from .ops import FUNCTIONS, OPS

Operand = Any  # Var | float | int | list


class Program:
    """Collects statements; :meth:`graph` returns the finished, immutable graph."""

    def __init__(self) -> None:
        self._builder = GraphBuilder()
        self._last: "Var | None" = None

    def input(self, name: str, default: Any = None) -> "Var":
        """An input; with ``default`` it is declared like ``x = 2.0`` in the language."""
        if not name.isidentifier():
            raise ValueError(f"{name!r} is not a valid name")
        var = Var(self, self._builder.input(name, default))
        if default is not None:
            self._builder.bind(name, var.node)
        return var

    def inputs(self, names: str) -> tuple["Var", ...]:
        """Several inputs at once: ``x, y = p.inputs("x y")``."""
        return tuple(self.input(n) for n in names.replace(",", " ").split())

    def let(self, name: str, value: Operand) -> "Var":
        """The statement ``name = value``; returns the named variable."""
        if not name.isidentifier():
            raise ValueError(f"{name!r} is not a valid name")
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

    def apply(self, op: str, *args: Operand) -> "Var":
        """Apply the registry's operator ``op`` (its defaults fill omitted arguments)."""
        record = OPS[op]
        if not record.min_arity <= len(args) <= record.arity:
            raise TypeError(f"{op}() takes {record.min_arity}..{record.arity} arguments, "
                            f"got {len(args)}")
        vars_ = [self._lift(a) for a in args]
        nodes = [v.node for v in vars_]
        nodes += [self._builder.const(d) for d in record.defaults[len(args) - record.min_arity:]]
        return Var(self, self._builder.apply(op, nodes))


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


def _function(name: str) -> Callable[..., Var]:
    def call(*args: Operand) -> Var:
        program = next((a.program for a in args if isinstance(a, Var)), None)
        if program is None:
            raise TypeError(f"{name}() needs at least one compgraph variable")
        return program.apply(name, *args)

    call.__name__ = name
    call.__doc__ = f"{name}: {OPS[name].doc}"
    return call


# relu, tanh, sigmoid, ... as module functions, straight from the registry.
_module = sys.modules[__name__]
for _name in FUNCTIONS:
    setattr(_module, _name, _function(_name))
