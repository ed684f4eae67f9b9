"""The backward pass written as a program (``compgraph backprop``): the forward statements,
then one reverse-mode statement per adjoint, in compgraph's own language.

Each adjoint is named ``d<output>_d<name>`` (``dC_dW1`` is ∂C/∂W1; a trailing ``_`` is
added if the program already uses the name). The reverse statements are built by the
registry's symbolic rules (``Op.vjp_expr``) in the order the engine's sweep runs, fan-out
written as a sum in the order the engine adds, broadcast operands summed back to their
shape: so evaluating the printed program gives the engine's gradients exactly, for the
shapes it was derived at (the program's own values, or the ones given).

>>> from compgraph.parser import parse
>>> print(backprop(parse("a = x*y + z, b = a*(x + x), w = a*b + b")).text())
# derived for scalar inputs x, y, z (give values for other shapes)
# forward
a = x*y + z
b = a*(x + x)
w = a*b + b
# backward: dw_dv is the derivative of w with respect to v
dw_dw = 1
dw_db = 1 + a
dw_da = b + dw_db*(x + x)
dw_dz = dw_da
dw_dx = dw_db*a + dw_db*a + dw_da*y
dw_dy = dw_da*x

(``dw_dx`` adds what reaches x along its three edges, in the order reverse mode adds it.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from .errors import EvaluationError, InputError
from .evaluate import Values, evaluate, point
from .graph import CONST, INPUT, OP, Graph
from .ops import OPS, fortran
from .symbolic import (BROADCAST, Expr, SymbolicError, broadcast, call, to_text, walk,
                       zeros)

# Operators acting element by element: a path of these between two vectors has a
# diagonal Jacobian (what --in-terms-of writes).
_ELEMENTWISE_EXTRA = {"add", "sub", "neg", "div"}


class BackpropError(EvaluationError):
    """The backward pass cannot be written as a program (and why)."""


@dataclass
class Statement:
    """``name = expr``. ``kind`` is ``forward``, ``seed`` (the output's own adjoint),
    ``adjoint``, ``alias`` (another name of the same node's adjoint) or ``jacobian``;
    ``of``/``wrt`` name the derivative an adjoint or Jacobian stands for, ``diagonal``
    is a Jacobian's diagonal (the printed expression is identity times it)."""

    name: str
    expr: Expr
    kind: str = "forward"
    of: str | None = None
    wrt: str | None = None
    diagonal: Expr | None = None
    node: int | None = None          # the graph node whose adjoint this is

    def text(self) -> str:
        return f"{self.name} = {to_text(self.expr)}"


@dataclass
class BackwardProgram:
    """The printed backward pass of a graph: ``statements`` in order (forward first)."""

    graph: Graph
    output: str                      # the output's name in the printed program
    statements: list[Statement]
    notes: list[str] = field(default_factory=list)

    @property
    def forward(self) -> list[Statement]:
        return [s for s in self.statements if s.kind == "forward"]

    @property
    def backward(self) -> list[Statement]:
        return [s for s in self.statements if s.kind != "forward"]

    def adjoint_name(self, name: str) -> str:
        """The printed name of d(output)/d(``name``).

        >>> from compgraph.parser import parse
        >>> backprop(parse("y = 3*x")).adjoint_name("x")
        'dy_dx'
        """
        for s in self.statements:
            if s.kind in ("seed", "adjoint", "alias") and s.wrt == name:
                return s.name
        raise InputError(f"no adjoint of {name!r}; the program's variables are: "
                         f"{', '.join(s.wrt for s in self.backward if s.wrt and s.kind != 'jacobian')}")

    def adjoints(self) -> dict[int, str]:
        """The name of each node's adjoint in the printed program, by graph node."""
        return {s.node: s.name for s in self.statements
                if s.kind in ("seed", "adjoint", "alias") and s.node is not None}

    def text(self) -> str:
        """The program: forward statements, then the backward ones, with two comment lines."""
        out = [f"# {note}" for note in self.notes]
        out.append("# forward")
        out += [s.text() for s in self.forward]
        out.append(f"# backward: d{self.output}_dv is the derivative of {self.output} "
                   "with respect to v")
        out += [s.text() for s in self.backward]
        return "\n".join(out)

    def latex(self) -> str:
        """The same equations in LaTeX, with ∂ notation (an ``aligned`` block)."""
        from .latex import program_latex

        return program_latex(self)


def backprop(graph: Graph, inputs: Mapping[str, Any] | None = None, /, *,
             in_terms_of: Iterable[str] = (), **kw: Any) -> BackwardProgram:
    """The backward pass of ``graph`` (its output must be a scalar) as a program.

    Shapes are the program's at ``inputs`` (and its defaults); an input with no value is
    taken as a scalar, which the printed program notes. ``in_terms_of`` names derivatives
    ``dA_dB`` to write the equations with: the gradient ``d<output>_dB``, or the Jacobian
    of a variable A with respect to a variable B when the path between them is elementwise
    (a diagonal matrix), so that the adjoint of B is written ``d<output>_dA @ dA_dB``.
    """
    given = dict(inputs or {})
    given.update(kw)
    notes: list[str] = []
    defaults = {graph.nodes[i].name for i in graph.inputs if graph.nodes[i].value is not None}
    missing = [n for n in graph.input_names if n not in given and n not in defaults]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        notes.append(f"derived for scalar input{plural} {', '.join(missing)} "
                     "(give values for other shapes)")
        given.update({n: 0.0 for n in missing})
    point(graph, given)  # unknown names: the usual InputError
    values = evaluate(graph, given)
    if isinstance(values.output, np.ndarray):
        raise BackpropError(f"the backward pass needs a scalar output; {graph.output_name} has "
                            f"shape {values.output.shape}: choose a scalar with --output NAME "
                            "(graph.with_output(NAME) in Python), or make one with sum(...) "
                            "or mean(...)")
    try:
        return _Printer(graph, values, notes).run(list(in_terms_of))
    except SymbolicError as exc:
        raise BackpropError(f"cannot write the backward pass: {exc}") from None


class _Printer:
    def __init__(self, graph: Graph, values: Values, notes: list[str]) -> None:
        self.g = graph
        self.values = values
        self.notes = notes
        self.shape = [tuple(np.shape(v)) for v in values.nodes]
        self.fortran = [fortran(v) for v in values.nodes]
        self.used: set[str] = set(graph.latest) | set(graph.input_names)
        self.names: list[list[str]] = [[] for _ in graph.nodes]   # printed names per node
        self.statements: list[Statement] = []
        self.refs: dict[int, Expr] = {}   # forward values as expressions, once made

    # --- names -------------------------------------------------------------------------

    def fresh(self, base: str) -> str:
        name = base
        while name in self.used:
            name += "_"
        self.used.add(name)
        return name

    # --- forward -----------------------------------------------------------------------

    def forward(self) -> None:
        g = self.g
        defined = [False] * len(g.nodes)
        for i in g.inputs:
            if g.nodes[i].value is None:
                self.names[i].append(g.nodes[i].name)  # type: ignore[arg-type]
                defined[i] = True
        # Every version of a name gets a name of its own (c, c_1, c_2 for c, c′, c″), so
        # that the backward statements can read any of them after the forward ones.
        version = {g.nodes[i].name: 0 for i in g.inputs if defined[i]}
        current: dict[str, int] = {g.nodes[i].name: i for i in g.inputs if defined[i]}
        for b in g.bindings:
            if current.get(b.name) == b.node:
                continue  # `a = a` makes no new version
            current[b.name] = b.node
            k = version[b.name] = version.get(b.name, -1) + 1
            node = g.nodes[b.node]
            if node.kind == INPUT and k == 0 and not defined[b.node]:
                name = b.name
                expr = Expr.const(node.value)
            else:
                name = b.name if k == 0 else self.fresh(f"{b.name}_{k}")
                if defined[b.node]:  # another name for a node already computed
                    expr = Expr.var(self.names[b.node][-1], self.shape[b.node])
                else:
                    expr = self.forward_expr(b.node, defined)
            self.statements.append(Statement(name, expr))
            self.names[b.node].append(name)
            defined[b.node] = True
        out = g.output
        if not self.names[out]:
            name = self.fresh("out")
            self.statements.append(Statement(name, self.forward_expr(out, defined)))
            self.names[out].append(name)
            defined[out] = True
        self.defined = defined

    def forward_expr(self, root: int, defined: list[bool]) -> Expr:
        """Node ``root``'s value as an expression over the names defined so far (exactly
        as the program computes it: nothing simplified)."""
        g = self.g
        built: dict[int, Expr] = {}
        stack = [root]
        while stack:
            i = stack[-1]
            if i in built:
                stack.pop()
                continue
            node = g.nodes[i]
            if defined[i] or node.kind == INPUT:
                # the newest name of the node, as the program reads it at this point
                built[i] = Expr.var(self.names[i][-1] if self.names[i] else node.name or "?",
                                    self.shape[i])
            elif node.kind == CONST:
                built[i] = Expr.const(node.value)
            else:
                todo = [j for j in node.operands if j not in built]
                if todo:
                    stack.extend(reversed(todo))
                    continue
                built[i] = Expr(node.op, tuple(built[j] for j in node.operands),  # type: ignore[arg-type]
                                self.shape[i], params=node.params)
            stack.pop()
        return built[root]

    def ref(self, i: int) -> Expr:
        """Node ``i``'s forward value: its name, or its expression written out."""
        e = self.refs.get(i)
        if e is None:
            if self.names[i]:
                e = Expr.var(self.names[i][-1], self.shape[i])
            else:
                e = self.forward_expr(i, self.defined)
            if self.fortran[i]:
                e.layout = "F"
            self.refs[i] = e
        return e

    # --- backward ----------------------------------------------------------------------

    def run(self, in_terms_of: list[str]) -> BackwardProgram:
        self.forward()
        g = self.g
        out = g.output
        out_name = self.names[out][-1]
        base = g.output_name if g.output_name.isidentifier() else out_name
        self.base = base
        self.adj_name: dict[int, str] = {}
        for i, names in enumerate(self.names):
            if names:
                # The adjoint takes the node's last name (ŷ in `yhat = s2`), the others alias it.
                self.adj_name[i] = self.fresh(f"d{base}_d{names[-1]}")
        jacobians, gradients = self.parse_terms(in_terms_of)
        self.jacobians = jacobians
        needs = g.depends_on_input
        # A node's adjoint is complete once its last (lowest-numbered) user has passed on
        # its contribution: its statement is written then, next to what it comes from.
        last_user = [-1] * len(g.nodes)
        for n in g.nodes:
            for j in n.operands:
                last_user[j] = n.id if last_user[j] < 0 else min(last_user[j], n.id)
        self.contributions: dict[int, list[Expr]] = {}
        self.adjoint: dict[int, Expr | None] = {}
        self.temps: dict[str, int] = {}
        for i in range(len(g.nodes) - 1, -1, -1):
            node = g.nodes[i]
            if node.kind == CONST:
                continue
            if i not in self.adjoint:
                self.finish(i)  # the output, or a node nothing reads
            ref = self.adjoint[i]
            if ref is None or node.kind != OP:
                continue
            rules = OPS[node.op].vjp_expr  # type: ignore[index]
            if rules is None:
                raise SymbolicError(f"the operator {node.op} has no symbolic reverse rule")
            args = tuple(self.ref(j) for j in node.operands)
            outv = self.ref(i)
            kw = node.kwargs
            for k, j in enumerate(node.operands):
                if not needs[j]:
                    continue
                c = rules[k](ref, outv, *args, **kw)
                if c is not None:
                    self.contributions.setdefault(j, []).append(self.unbroadcast(c, self.shape[j]))
            for j in dict.fromkeys(node.operands):
                if last_user[j] == i and needs[j] and g.nodes[j].kind != CONST:
                    self.finish(j)
        temps = self.temps
        self.fold_temps(temps)
        self.check_gradients(gradients)
        return BackwardProgram(g, base, self.statements, self.notes)

    def finish(self, i: int) -> None:
        """Node ``i``'s adjoint is complete: write its statement (a named node, or a
        compound one that several contributions will read) and keep what reads it."""
        g = self.g
        if i == g.output:
            total: Expr | None = Expr.const(1.0)
        elif not (g.ancestors_of_output[i] and g.depends_on_input[i]):
            total = None
        else:
            parts = self.contributions.pop(i, [])
            total = parts[0] if parts else None
            for c in parts[1:]:
                total = total + c  # type: ignore[operator]
        jacobian = self.jacobians.get(i)
        if jacobian is not None and jacobian[0] != i:
            total = self.through_jacobian(i, jacobian, self.adjoint)  # type: ignore[arg-type]
        ref: Expr | None
        if i in self.adj_name:
            name = self.emit_adjoint(i, total, i == g.output, jacobian)
            ref = Expr.const(1.0) if i == g.output else Expr.var(name, self.shape[i])
            if total is None and i != g.output:
                ref = None  # zero: nothing flows on from here (the engine skips it too)
        elif total is None or self.uses(i) <= 1 or _small(total):
            ref = total
        else:
            name = self.fresh(f"d{self.base}_do{len(self.temps) + 1}")
            self.temps[name] = i
            self.statements.append(Statement(name, total, "adjoint", self.base, None))
            ref = Expr.var(name, self.shape[i])
        self.adjoint[i] = ref

    def uses(self, i: int) -> int:
        """How many contributions node ``i``'s adjoint will feed (operands needing one)."""
        needs = self.g.depends_on_input
        return sum(1 for j in self.g.nodes[i].operands if needs[j])

    def emit_adjoint(self, i: int, total: Expr | None, seed: bool,
                     jacobian: tuple[int, str, str] | None) -> str:
        """The statement of node ``i``'s adjoint, and one per other name of the node (an
        alias; through the identity Jacobian when --in-terms-of asks for it, and then the
        later statements read the adjoint by that name). Returns the name they read."""
        names = self.names[i]
        name = read = self.adj_name[i]
        expr = total if total is not None else zeros(self.shape[i])
        self.statements.append(Statement(name, expr, "seed" if seed else "adjoint",
                                         self.base, names[-1], node=i))
        for other in names[:-1]:
            alias = self.fresh(f"d{self.base}_d{other}")
            target: Expr = Expr.var(name, self.shape[i])
            if jacobian is not None and jacobian[0] == i and jacobian[2] == other:
                target = self.through_jacobian(i, jacobian, {i: target})
                read = alias
            self.statements.append(Statement(alias, target, "alias", self.base, other, node=i))
        return read

    @staticmethod
    def unbroadcast(c: Expr, like: tuple[int, ...]) -> Expr:
        """The engine's ``unbroadcast`` on expressions: sum a contribution back to the
        shape of the operand it flows into (or repeat a scalar to it)."""
        if c.shape == like:
            return c
        if like == ():
            return call("sum", c)
        if c.shape == ():
            return broadcast(c, like)
        extra = len(c.shape) - len(like)
        if extra > 0:
            c = call("sum", c, axis=tuple(range(extra)))
        axes = tuple(k for k, n in enumerate(like) if n == 1 and c.shape[k] != 1)
        if axes:  # keepdims, written as a reshape
            c = call("reshape", call("sum", c, axis=axes), shape=like)
        if c.shape != like:
            c = broadcast(c, like)
        return c

    def fold_temps(self, temps: dict[str, int]) -> None:
        """``dC_do1 = 2*(yhat - y)`` followed by ``dC_dyhat = dC_do1``: give the expression
        the variable's name directly (every use of the temporary comes after it)."""
        for temp in temps:
            aliases = [s for s in self.statements if s.kind in ("adjoint", "alias")
                       and s.expr.op == "var" and s.expr.name == temp]
            if not aliases:
                continue
            target = aliases[0]
            definition = next(s for s in self.statements if s.name == temp)
            self.statements.remove(target)
            definition.name, definition.wrt, definition.node = target.name, target.wrt, target.node
            for s in self.statements:
                s.expr = _rename(s.expr, temp, target.name)

    # --- in terms of ---------------------------------------------------------------------

    def parse_terms(self, terms: list[str]) -> tuple[dict[int, tuple[int, str, str]], list[str]]:
        """``dA_dB`` names: Jacobians (node of B -> (node of A, the name, B)) and gradients."""
        by_name = {n: i for i, names in enumerate(self.names) for n in names}
        jacobians: dict[int, tuple[int, str, str]] = {}
        gradients: list[str] = []
        for term in terms:
            split = _split_term(term, by_name)
            if split is None:
                valid = ", ".join(sorted(by_name))
                raise BackpropError(f"--in-terms-of {term}: write dA_dB with A and B variables "
                                    f"of the program ({valid}), e.g. d{self.base}_d"
                                    f"{self.names[self.g.output][-1]}")
            a, b = split
            if by_name[a] == self.g.output:
                gradients.append(b)
                continue
            if by_name[b] in jacobians:
                raise BackpropError(f"--in-terms-of {term}: {jacobians[by_name[b]][1]} already "
                                    f"writes the adjoint of {b}")
            jacobians[by_name[b]] = (by_name[a], term, b)
        return jacobians, gradients

    def check_gradients(self, gradients: list[str]) -> None:
        have = {s.wrt for s in self.statements if s.kind in ("adjoint", "alias", "seed")}
        for name in gradients:
            if name not in have:
                raise BackpropError(f"{name} has no adjoint statement")

    def through_jacobian(self, b: int, target: tuple[int, str, str],
                         adjoint: dict[int, Expr]) -> Expr:
        """The adjoint of node ``b`` as ``d<out>_dA @ dA_dB``, after the statement of the
        Jacobian dA_dB (the path from B to A must be elementwise, or A be B itself)."""
        g = self.g
        a, term, b_name = target
        shape = self.shape[b]
        if len(shape) > 1 or len(self.shape[a]) > 1 or (self.shape[a] != shape and a != b):
            raise BackpropError(f"--in-terms-of {term}: Jacobians are written between vectors "
                                f"or scalars of the same size; the shapes are {self.shape[a]} "
                                f"and {shape}")
        if a not in adjoint:
            raise BackpropError(f"--in-terms-of {term}: the output does not depend on "
                                f"{self.names[a][-1]}")
        path = self.path(b, a, term)
        # The diagonal: the reverse sweep from A down to B with a seed of ones.
        seed = broadcast(1.0, self.shape[a]) if self.shape[a] else Expr.const(1.0)
        local: dict[int, list[Expr]] = {a: [seed]}
        for i in sorted(path | {a}, reverse=True):
            parts = local.get(i)
            if not parts or i == b:
                continue
            total = parts[0]
            for c in parts[1:]:
                total = total + c
            node = g.nodes[i]
            rules = OPS[node.op].vjp_expr  # type: ignore[index]
            args = tuple(self.ref(j) for j in node.operands)
            for k, j in enumerate(node.operands):
                if j == b or j in path:
                    c = rules[k](total, self.ref(i), *args, **node.kwargs)  # type: ignore[index]
                    if c is not None:
                        local.setdefault(j, []).append(self.unbroadcast(c, self.shape[j]))
        parts = local.get(b, [])
        diagonal = parts[0] if parts else zeros(shape)
        for c in parts[1:]:
            diagonal = diagonal + c
        if a == b:
            diagonal = broadcast(1.0, shape) if shape else Expr.const(1.0)
        if shape:
            n = shape[0]
            diagonal = broadcast(diagonal, shape)
            if diagonal.op == BROADCAST and diagonal.args[0].op == "const":
                diagonal = Expr.const(np.full(shape, diagonal.args[0].value))
            jac = Expr.const(np.eye(n)) * diagonal
        else:
            jac = diagonal
        name = self.fresh(term) if term in self.used else term
        self.used.add(name)
        self.statements.append(Statement(name, jac, "jacobian", self.names[a][-1],
                                         b_name, diagonal if shape else None))
        j_ref = Expr.var(name, jac.shape)
        return adjoint[a] @ j_ref if shape else adjoint[a] * j_ref

    def path(self, b: int, a: int, term: str) -> set[int]:
        """The nodes strictly between B and A; refuses paths that leave them (B must reach
        the output only through A) or that are not elementwise."""
        g = self.g
        if a == b:
            return set()
        if a < b:
            raise BackpropError(f"--in-terms-of {term}: {self.names[a][-1]} does not depend on "
                                f"{self.names[b][-1]}")
        reach = [False] * len(g.nodes)
        reach[b] = True
        for i in range(b + 1, a + 1):
            if g.nodes[i].kind == OP and any(reach[j] for j in g.nodes[i].operands):
                reach[i] = True
        if not reach[a]:
            raise BackpropError(f"--in-terms-of {term}: {self.names[a][-1]} does not depend on "
                                f"{self.names[b][-1]}")
        back = [False] * len(g.nodes)
        back[a] = True
        for i in range(a, b - 1, -1):
            if back[i]:
                for j in g.nodes[i].operands:
                    back[j] = True
        between = {i for i in range(b + 1, a) if reach[i] and back[i]}
        users: dict[int, list[int]] = {}
        for n in g.nodes:
            for j in n.operands:
                users.setdefault(j, []).append(n.id)
        for i in between | {b}:
            for u in users.get(i, []):
                if u != a and u not in between and g.ancestors_of_output[u]:
                    raise BackpropError(
                        f"--in-terms-of {term}: {self.names[b][-1]} reaches the output other "
                        f"than through {self.names[a][-1]}, so its adjoint is not "
                        f"d{self.base}_d{self.names[a][-1]} @ {term} alone")
        for i in between | {a}:
            op = g.nodes[i].op
            record = OPS[op]  # type: ignore[index]
            if not (record.partials is not None or op in _ELEMENTWISE_EXTRA) \
                    or self.shape[i] != self.shape[b]:
                raise BackpropError(
                    f"--in-terms-of {term}: the path from {self.names[b][-1]} to "
                    f"{self.names[a][-1]} goes through {record.label!r}, which is not "
                    "elementwise; compgraph writes Jacobians that are diagonal matrices")
        return between


def _small(e: Expr) -> bool:
    """A name, a number, or one operator on names and numbers: written out at each use
    rather than named (``dw_db*a + dw_db*a`` reads better than a temporary)."""
    if not e.args:
        return e.shape == () or e.op == "var"
    return len(e.args) <= 2 and all(a.op == "var" or (a.op == "const" and a.shape == ())
                                    for a in e.args)


def _split_term(term: str, by_name: Mapping[str, int]) -> tuple[str, str] | None:
    if not term.startswith("d"):
        return None
    for m in re.finditer("_d", term):
        a, b = term[1:m.start()], term[m.end():]
        if a in by_name and b in by_name:
            return a, b
    return None


def _rename(root: Expr, old: str, new: str) -> Expr:
    """``root`` with the variable ``old`` called ``new`` (a new tree where it changes)."""
    if not any(e.op == "var" and e.name == old for e in walk(root)):
        return root
    rebuilt: dict[int, Expr] = {}
    for e in walk(root):
        if e.op == "var" and e.name == old:
            rebuilt[id(e)] = Expr.var(new, e.shape)
        elif e.args:
            args = tuple(rebuilt[id(a)] for a in e.args)
            rebuilt[id(e)] = Expr(e.op, args, e.shape, e.value, e.name, e.params)
        else:
            rebuilt[id(e)] = e
    return rebuilt[id(root)]


