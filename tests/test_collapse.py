"""Collapsed calls (``to_dot(..., collapse=True)``, ``render --collapse``): each call of a
function defined with ``def`` drawn as one block from its arguments to the value it returns,
``expand`` opening calls again; the numbers on a block's wires are the engine's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import compgraph as cg
from compgraph.drawing.collapse import Wiring

REPO = Path(__file__).resolve().parents[1]
TWO_LAYER_DEF = (REPO / "examples" / "two-layer-net-def.cg").read_text(encoding="utf-8")
THREE_LAYER = (REPO / "examples" / "three-layer-net.cg").read_text(encoding="utf-8")
IDENTITY = "def g(s): return s\n"


def edges(source: str) -> list[tuple[str, str, str]]:
    """``(tail, head, label)`` of every edge of a DOT source, in order (label ``""``: none)."""
    out = []
    for line in source.splitlines():
        m = re.match(r'\s*("[^"]*"|\S+) -> ("[^"]*"|\S+)(?: \[(.*)\])?$', line)
        if m:
            label = re.search(r'(?:^| )label=("[^"]*"|\S+)', m.group(3) or "")
            out.append((m.group(1).strip('"'), m.group(2).strip('"'),
                        label.group(1).strip('"') if label else ""))
    return out


def tooltips(source: str) -> dict[str, str]:
    """Each DOT node's id -> its node tooltip (``u, value 3, gradient 6``)."""
    out = {}
    for line in source.splitlines():
        m = re.match(r'\s*("[^"]*"|\w+) \[(.*)\]$', line)
        if m and "->" not in line:
            tips = re.findall(r' tooltip="([^"]*)"', m.group(2))
            if tips:
                out[m.group(1).strip('"')] = tips[-1]
    return out


# --- which circle a use reads -----------------------------------------------------------------

def test_a_use_reads_the_circle_of_the_call_written_beside_a_name() -> None:
    # u and g(u) are one graph node (x): u * g(u) reads u's circle and the second call's
    # output, not x twice, so that each circle's gradient is what its own wires carry.
    g = cg.parse(IDENTITY + "u = g(x)\nz = u * g(u)")
    w = Wiring(g, collapse=True)
    mul = g.output
    n = len(g.nodes)
    assert w.operands(mul) == (n + 0, n + 1)  # u (g₁'s output), then g₂'s output
    values = cg.evaluate(g, x=3.0)
    source = cg.to_dot(g, "backward", values, cg.backward(g, values), legend=False,
                       collapse=True).source
    into_mul = [(t, lab) for t, h, lab in edges(source) if h == f"op{mul}"]
    assert into_mul == [("v2_u", "3"), ("v3", "3")]
    tips = tooltips(source)
    assert tips["v2_u"] == "u, value 3, gradient 6"    # 3 directly, 3 through g₂
    assert tips["v3"] == "o, value 3, gradient 3"
    assert tips["v0_x"] == "x, value 3, gradient 6"
