"""LaTeX for expressions and for the printed backward pass (``compgraph backprop --latex``),
in the homework's notation: ∂ fractions, W^{(1)} for parameters, s_1 for intermediates,
⊙ for elementwise products, ᵀ for transposes.

>>> from compgraph.symbolic import Expr, call
>>> W, x, b = Expr.var("W1", (3, 2)), Expr.var("x", (2,)), Expr.var("b1", (3,))
>>> to_latex(W @ x + b, {"W1": "W^{(1)}", "b1": "b^{(1)}"})
'W^{(1)} x + b^{(1)}'
>>> s = Expr.var("s1", (3,))
>>> to_latex(3.0 * call("sign", call("relu", s)) * s)
'3 \\\\mathbb{1}[s_{1} > 0] \\\\odot s_{1}'
>>> variable_latex("yhat"), variable_latex("W2", parameter=True), variable_latex("ŷ")
('\\\\hat{y}', 'W^{(2)}', '\\\\hat{y}')
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Mapping

import numpy as np

from .symbolic import BROADCAST, CONST, VAR, Expr, _render, format_number

_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
          "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi",
          "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma",
          "Phi", "Psi", "Omega"}
_ACCENTS = {"\u0302": "hat", "\u0303": "tilde", "\u0304": "bar", "\u0307": "dot"}
_FUNCTIONS = {"tanh": r"\tanh", "sin": r"\sin", "cos": r"\cos", "exp": r"\exp", "log": r"\log",
              "sigmoid": r"\sigma", "sqrt": r"\sqrt"}


def _letter(ch: str) -> str:
    """A letter, with its accent as a LaTeX accent (ŷ is \\hat{y}) and Greek as a command."""
    decomposed = unicodedata.normalize("NFD", ch)
    base, marks = decomposed[0], decomposed[1:]
    if not base.isascii():
        name = unicodedata.name(base, "").split()
        if len(name) >= 4 and name[0] == "GREEK" and name[2] == "LETTER":
            word = name[3].lower()
            base = "\\" + (word.capitalize() if name[1] == "CAPITAL" else word)
            if word == "lamda":
                base = "\\lambda"
    out = base
    for m in marks:
        if m in _ACCENTS:
            out = f"\\{_ACCENTS[m]}{{{out}}}"
    return out


def variable_latex(name: str, parameter: bool = False) -> str:
    """A variable's name in the homework's style: a trailing number is a superscript in
    parentheses for a parameter (``W1`` is W^{(1)}) and a subscript otherwise (``s1`` is
    s_{1}); ``yhat`` and ``ŷ`` are \\hat{y}; Greek names are Greek letters."""
    m = re.fullmatch(r"(.*?)_?(\d+)", name)
    stem, number = (m.group(1), m.group(2)) if m and m.group(1) else (name, "")
    accent = ""
    for suffix, acc in (("hat", "hat"), ("tilde", "tilde"), ("bar", "bar")):
        if stem.endswith(suffix) and len(stem) > len(suffix):
            stem, accent = stem[:-len(suffix)], acc
            break
    if stem in _GREEK:
        body = "\\" + stem
    elif len(unicodedata.normalize("NFC", stem)) == 1:
        body = _letter(unicodedata.normalize("NFC", stem))
    else:
        body = r"\mathrm{" + stem.replace("_", r"\_") + "}"
    if accent:
        body = f"\\{accent}{{{body}}}"
    if number:
        body += f"^{{({number})}}" if parameter else f"_{{{number}}}"
    return body


def _matrix(a: np.ndarray) -> str:
    if a.ndim == 2 and a.shape[0] == a.shape[1] and np.array_equal(a, np.eye(a.shape[0])):
        return "I"
    if np.all(a == 1.0):
        return r"\mathbf{1}"
    if np.all(a == 0.0):
        return r"\mathbf{0}"
    rows = a.reshape(-1, 1) if a.ndim == 1 else a
    if rows.ndim != 2:
        return r"\mathrm{array}"
    body = r" \\ ".join(" & ".join(format_number(v) for v in row) for row in rows)
    return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"


def to_latex(root: Expr, names: Mapping[str, str] | None = None) -> str:
    """An expression in LaTeX; ``names`` maps variables to their LaTeX (else
    :func:`variable_latex`)."""
    names = names or {}

    def node(e: Expr, parts: list[tuple[str, int]]) -> tuple[str, int]:
        op = e.op
        if op == VAR:
            return names.get(e.name or "", None) or variable_latex(e.name or "?"), 100
        if op == CONST:
            if e.shape:
                return _matrix(np.asarray(e.value)), 100
            text = format_number(e.value)
            return text, (3 if text.startswith("-") else 100)
        if op == BROADCAST:
            return f"{_wrap(parts[0], 2)} \\mathbf{{1}}", 2
        if op == "neg":
            return "-" + _wrap(parts[0], 3), 3
        if op in ("add", "sub"):
            sign = "+" if op == "add" else "-"
            return f"{_wrap(parts[0], 1)} {sign} {_wrap(parts[1], 2)}", 1
        if op == "mul":
            a, b = e.args
            left, right = _wrap(parts[0], 2), _wrap(parts[1], 3)
            if a.shape and b.shape:
                return f"{left} \\odot {right}", 2
            if a.op == CONST and not a.shape and b.op != CONST:
                return f"{left} {right}", 2
            return f"{left} \\cdot {right}", 2
        if op == "div":
            return f"\\frac{{{parts[0][0]}}}{{{parts[1][0]}}}", 100
        if op == "matmul":
            a, b = e.args
            if len(a.shape) == 1 and len(b.shape) == 1:  # a dot product
                return f"{_transposed(_wrap(parts[0], 100))} {_wrap(parts[1], 3)}", 2
            return f"{_wrap(parts[0], 2)} {_wrap(parts[1], 3)}", 2
        if op == "pow":
            return f"{_wrap(parts[0], 100)}^{{{parts[1][0]}}}", 4
        if op == "transpose":
            return _transposed(_wrap(parts[0], 100)), 4
        if op == "outer":
            return f"{_wrap(parts[0], 3)} {_transposed(_wrap(parts[1], 100))}", 2
        if op == "sign" and e.args[0].op == "relu":
            inner = e.args[0].args[0]
            return f"\\mathbb{{1}}[{to_latex(inner, names)} > 0]", 100
        params = dict(e.params)
        if op == "index":
            from .ops import index_text

            return f"{_wrap(parts[0], 100)}_{{[{index_text(params['index'])}]}}", 100
        if op in ("sum", "mean") and params.get("axis") is not None:
            axis = params["axis"]
            axes = ",".join(map(str, axis)) if isinstance(axis, tuple) else str(axis)
            head = r"\textstyle\sum" if op == "sum" else r"\operatorname{mean}"
            return f"{head}_{{\\mathrm{{axis}}\\,{axes}}}\\left({parts[0][0]}\\right)", 100
        if op == "sum":
            if parts[0][1] >= 4:  # Σ (ŷ − y)²: a power or an atom needs no more brackets
                return f"\\textstyle\\sum {parts[0][0]}", 3
            return f"\\textstyle\\sum\\left({parts[0][0]}\\right)", 100
        if op == "sqrt":
            return f"\\sqrt{{{parts[0][0]}}}", 100
        head = _FUNCTIONS.get(op, rf"\operatorname{{{op}}}")
        return f"{head}\\left({', '.join(p[0] for p in parts)}\\right)", 100

    return _render(root, node)[0]


def _transposed(text: str) -> str:
    """``text`` with ᵀ: inside a superscript it already has (W^{(2)\\top}, never W^{(2)}^\\top)."""
    m = re.search(r"\^\{([^{}]*)\}$", text)
    if m:
        return f"{text[:m.start()]}^{{{m.group(1)}\\top}}"
    return f"{text}^\\top"


def _wrap(part: tuple[str, int], need: int) -> str:
    text, p = part
    return f"\\left({text}\\right)" if p < need else text


def program_latex(program: Any) -> str:
    """A ``compgraph.backprop.BackwardProgram``'s forward and backward statements as one
    ``aligned`` block of equations (the input declarations, which are data, are left out)."""
    graph = program.graph
    parameters = set(graph.input_names)
    names: dict[str, str] = {}
    for s in program.statements:
        if s.kind == "forward":
            names[s.name] = variable_latex(s.name, parameter=s.name in parameters)
    for name in graph.input_names:
        names.setdefault(name, variable_latex(name, parameter=True))

    def var(name: str | None) -> str:
        if name is None:
            return "o"
        return names.get(name) or variable_latex(name)

    temps = 0
    lines = []
    for s in program.statements:
        if s.kind == "forward":
            if s.expr.op == CONST and s.name in parameters:
                continue
            left = names[s.name]
        elif s.kind == "jacobian":
            left = rf"\frac{{\partial {var(s.of)}}}{{\partial {var(s.wrt)}}}"
        else:
            if s.wrt is None:
                temps += 1
                wrt = f"o_{{{temps}}}"
            else:
                wrt = var(s.wrt)
            left = rf"\frac{{\partial {var(s.of)}}}{{\partial {wrt}}}"
        names[s.name] = left
        if s.kind == "jacobian" and s.diagonal is not None and s.diagonal.equals(1.0):
            right = "I"
        elif s.kind == "jacobian" and s.diagonal is not None:
            right = rf"\operatorname{{diag}}\left({to_latex(s.diagonal, names)}\right)"
        else:
            right = to_latex(s.expr, names)
        lines.append(f"{left} &= {right}")
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"
