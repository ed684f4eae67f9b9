"""Collapsed calls (``to_dot(..., collapse=True)``, ``render --collapse``): each call of a
function defined with ``def`` drawn as one block from its arguments to the value it returns,
``expand`` opening calls again; the numbers on a block's wires are the engine's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

import compgraph as cg
from compgraph.drawing.collapse import Wiring
from test_properties import SETTINGS, program_text, programs

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


# --- the course's figure ------------------------------------------------------------------------

def labels(source: str) -> dict[str, str]:
    """Each operator block's DOT id -> its label (``call0_linear`` -> ``linear₁``)."""
    return dict(re.findall(r'^\s*((?:op|call)\w+) \[label="?([^" ]+)"? ', source, re.M))


def gradient_tips(source: str) -> dict[str, str]:
    """Each variable's DOT id prefix (``v4``) -> the tooltip of its gradient annotation."""
    return dict(re.findall(r'id="cg_(v\d+)_gradient"[^>]*tooltip="([^"]*)"', source))


def test_two_layer_net_collapsed_is_the_course_figure() -> None:
    g = cg.parse(TWO_LAYER_DEF)
    source = cg.to_dot(g, "forward", cg.evaluate(g), legend=False, collapse=True).source
    assert "cluster" not in source
    # One block per call, named by its function; the number only where a function is
    # called more than once (the course's Linear₁, Linear₂ but f and g).
    assert sorted(labels(source).values()) == sorted(["linear₁", "f", "linear₂", "g", "mse"])
    chain = [(t, h) for t, h, _ in edges(source)]
    route = ["v4_x", "call0_linear", "v7_s1", "call1_f", "v10_a1", "call2_linear", "v12_s2",
             "call3_g", "v17_ŷ", f"op{g.output}", f"v{g.output}_C"]
    assert all(step in chain for step in zip(route, route[1:]))
    # the parameters stay visible as the blocks' inputs
    assert ("v0_W1", "call0_linear") in chain and ("v3_b2", "call2_linear") in chain
    assert cg.to_dot(g, "forward", cg.evaluate(g), legend=False,
                     collapse=True).source == source  # deterministic


def test_a_block_is_numbered_only_among_several_calls() -> None:
    g = cg.parse(THREE_LAYER)
    source = cg.to_dot(g, legend=False, collapse=True).source
    # layer is called twice, linear three times (two inside the layers): linear₃ is the
    # third call of linear, as --expand linear#3 names it
    assert sorted(labels(source).values()) == sorted(
        ["layer₁", "layer₂", "linear₃", "−", "**", "Σ"])


def test_every_circle_shows_the_engines_gradient() -> None:
    g = cg.parse(TWO_LAYER_DEF)
    values = cg.evaluate(g)
    grads = cg.backward(g, values)
    source = cg.to_dot(g, "backward", values, grads, legend=False, collapse=True).source
    tips = gradient_tips(source)
    from compgraph.drawing.annotate import tooltip_text
    from compgraph.drawing.format import TOOLTIP_VALUES

    ids = {"W1": "v0", "b1": "v1", "W2": "v2", "b2": "v3", "x": "v4", "s1": "v7", "a1": "v10",
           "s2": "v12", "ŷ": "v17", "C": f"v{g.output}"}
    for name, var in ids.items():
        assert tips[var] == tooltip_text("gradient", grads[name], TOOLTIP_VALUES), name


def test_a_blocks_wire_carries_the_vector_jacobian_product() -> None:
    # u fans out to sq's body (twice: u*u) and to +: the wire into the block carries
    # 2u = 6, the sum of the body's edges from u, and u's total is written as that sum.
    g = cg.parse("def sq(x):\n    y = x*x\n    return y\nz = sq(u) + u")
    values = cg.evaluate(g, u=3.0)
    source = cg.to_dot(g, "backward", values, cg.backward(g, values), legend=False,
                       collapse=True).source
    out_of_u = [(h, lab) for t, h, lab in edges(source) if t == "v0_u"]
    assert out_of_u == [("call0_sq", "6"), (f"op{g.output}", "1")]
    assert gradient_tips(source)["v0"] == "gradient 7"
    assert ">7 = 6 + 1<" in source


def test_tangents_flow_through_a_block() -> None:
    g = cg.parse("def sq(x):\n    y = x*x\n    return y\nz = sq(u) + u")
    values = cg.evaluate(g, u=3.0)
    tans = cg.tangents(g, values, "u")
    source = cg.to_dot(g, "tangent", values, tangents=tans, legend=False,
                       collapse=True).source
    # what enters the block is u's tangent (1); what leaves it, sq's: 2u = 6
    assert ("v0_u", "call0_sq", "1") in edges(source)
    leaving = next(line for line in source.splitlines() if "call0_sq -> " in line)
    assert 'tooltip="tangent 6"' in leaving
    assert f'id="cg_v{g.output}_tangent"' in source and "tangent 7" in source


# --- expanding ---------------------------------------------------------------------------------

def test_expand_opens_one_call_or_every_call_of_a_function() -> None:
    g = cg.parse(TWO_LAYER_DEF)
    one = cg.to_dot(g, legend=False, collapse=True, expand=["linear#2"]).source
    assert one.count("subgraph cluster_call") == 1 and "cluster_call2" in one
    assert set(labels(one).values()) == {"linear₁", "f", "@", "+", "g", "mse"}
    both = cg.to_dot(g, legend=False, collapse=True, expand="linear").source
    assert {"cluster_call0", "cluster_call2"} == set(re.findall(r"cluster_call\d", both))
    assert "linear₁" not in both and "linear₂" not in both


def test_expanding_a_nested_call_opens_the_calls_around_it() -> None:
    g = cg.parse(THREE_LAYER)
    outer = cg.to_dot(g, legend=False, collapse=True, expand=["layer#1"]).source
    # layer#1 open: its linear drawn as a block inside its cluster
    assert re.findall(r"cluster_call\d", outer) == ["cluster_call0"]
    cluster = outer[outer.index("subgraph cluster_call0"):]
    assert "call1_linear" in cluster and "layer₂" in labels(outer).values()
    inner = cg.to_dot(g, legend=False, collapse=True, expand=["linear#1"]).source
    assert set(re.findall(r"cluster_call\d", inner)) == {"cluster_call0", "cluster_call1"}


def test_collapse_without_calls_draws_the_same_picture() -> None:
    g = cg.parse("a = x*y + z, b = a*(x + x), w = a*b + b")
    values = cg.evaluate(g, x=2, y=3, z=1)
    grads = cg.backward(g, values)
    assert (cg.to_dot(g, "backward", values, grads, collapse=True).source
            == cg.to_dot(g, "backward", values, grads).source)


@pytest.mark.parametrize("program, kwargs, message", [
    (TWO_LAYER_DEF, {"collapse": True, "expand": ["lin"]},
     "no call named 'lin' to expand (did you mean linear?); the calls are linear#1, f#1, "
     "linear#2, g#1, or a function's name for all of its calls: linear, f, g"),
    (TWO_LAYER_DEF, {"collapse": True, "expand": ["linear#3"]}, "the calls are linear#1"),
    (TWO_LAYER_DEF, {"expand": ["linear"]}, "pass collapse=True too"),
    ("y = 2*x", {"collapse": True, "expand": ["f"]},
     "the program calls no function defined with def"),
])
def test_bad_expand_names_the_choices(program: str, kwargs: dict, message: str) -> None:
    with pytest.raises(cg.RenderError) as info:
        cg.to_dot(cg.parse(program), legend=False, **kwargs)
    assert message in str(info.value)


# --- the explaining views -----------------------------------------------------------------------

def thick_circles(source: str) -> list[str]:
    """The variables drawn with a thick outline (the paths view's chosen one)."""
    return re.findall(r'id="cg_(v\d+)_ellipse"[^>]*border="4"', source)


@pytest.mark.parametrize("view", ["forward", "backward", "both", "tangent", "paths", "check",
                                  "heatmap"])
def test_every_view_draws_collapsed(view: str) -> None:
    g = cg.parse(TWO_LAYER_DEF)
    values = cg.evaluate(g)
    grads = cg.backward(g, values)
    options: dict = {"paths": cg.paths(g, values, "W1")} if view == "paths" else {}
    if view == "check":
        options["check"] = cg.check_nodes(g, values, grads)
    tans = cg.tangents(g, values, "x") if view == "tangent" else None
    source = cg.to_dot(g, view, values, grads, tans, legend=False, collapse=True,
                       **options).source
    assert "linear₁" in source and "cluster" not in source
    assert not re.search(r"\bop\d+ \[label=\"?(@|relu)", source)  # no body drawn


def test_paths_start_from_the_circle_of_the_name_chosen() -> None:
    # s2 and ŷ = g(s2) are one graph node, drawn as two circles: the paths from ŷ start at
    # ŷ (s2 → g is not on them), the paths from s2 go on through g.
    g = cg.parse(TWO_LAYER_DEF)
    values = cg.evaluate(g)
    for wrt, start, through_g in (("ŷ", "v17", False), ("s2", "v12", True)):
        source = cg.to_dot(g, "paths", values, legend=False, collapse=True,
                           paths=cg.paths(g, values, wrt)).source
        assert thick_circles(source) == [start]
        assert re.findall(r'id="cg_(v\d+)_gradient"', source) == [start]  # its Σ alone
        wires = {(t, h): line for line in source.splitlines()
                 for t, h, _ in edges(line)}
        assert ("#1f77b4" in wires[("v12_s2", "call3_g")]) is through_g
        assert ("#1f77b4" in wires[("call3_g", "v17_ŷ")]) is through_g


def test_check_marks_only_circles_that_show_the_nodes_whole_gradient() -> None:
    # u = g(x) is x's node; x's circle carries back 2x, u's only x: the check (of the node)
    # belongs to x's circle alone.
    g = cg.parse(IDENTITY + "u = g(x)\nz = x * u")
    values = cg.evaluate(g, x=3.0)
    grads = cg.backward(g, values)
    source = cg.to_dot(g, "check", values, grads, legend=False, collapse=True,
                       check=cg.check_nodes(g, values, grads)).source
    assert 'id="cg_v0_numeric"' in source and 'id="cg_v2_numeric"' not in source
    backward = cg.to_dot(g, "backward", values, grads, legend=False, collapse=True).source
    assert gradient_tips(backward)["v0"] == "gradient 6"
    assert gradient_tips(backward)["v2"] == "gradient 3"


def test_a_nan_born_inside_a_collapsed_call_marks_its_block() -> None:
    g = cg.parse("def f(s):\n    t = log(s)\n    return t\ny = f(x) * 2")
    values = cg.evaluate(g, x=-1.0)
    report = cg.find_nonfinite(g, values)
    assert report is not None and g.calls[0].result == report.first
    source = cg.to_dot(g, "forward", values, legend=False, collapse=True,
                       nonfinite=report).source
    block = next(line for line in source.splitlines() if line.strip().startswith("call0_f "))
    assert 'color="#e6007e"' in block and "penwidth=4" in block


# --- the command line ----------------------------------------------------------------------------

def test_render_collapse_and_expand_on_the_command_line(capsys: pytest.CaptureFixture) -> None:
    from compgraph.cli import main

    path = str(REPO / "examples" / "two-layer-net-def.cg")
    assert main(["render", path, "--collapse", "--view", "backward", "--format", "dot"]) == 0
    out = capsys.readouterr().out
    assert "linear₁" in out and "cluster" not in out
    assert main(["render", path, "--collapse", "--expand", "f", "--format", "dot"]) == 0
    out = capsys.readouterr().out
    assert "cluster_call1" in out and "linear₂" in out


# --- a part of the program: prune ----------------------------------------------------------

PART = "a = x*y\nb = a + z\nc = b*b\nd = x + 1\nL = c + d\n"


def test_prune_draws_the_output_and_what_it_is_computed_from() -> None:
    g = cg.parse(PART).with_output("b")
    values = cg.evaluate(g, x=1.0, y=2.0, z=3.0)
    grads = cg.backward(g, values)
    whole = cg.to_dot(g, "backward", values, grads).source
    part = cg.to_dot(g, "backward", values, grads, prune=True).source
    drawn = {name for t, h, _ in edges(part) for name in (t, h)}
    assert {"v0_x", "v1_y", "v2_a", "v3_z", "v4_b"} <= drawn
    for name in ("_c", "_d", "_L"):
        assert not any(n.endswith(name) for n in drawn) and name in whole
    assert "dotted" in whole and "dotted" not in part  # the muted part is left out
    # what is drawn carries the engine's gradients of b
    tips = tooltips(part)
    assert tips["v0_x"].endswith("gradient 2") and tips["v1_y"].endswith("gradient 1")


def test_prune_keeps_a_collapsed_call_on_the_way_and_drops_one_off_it() -> None:
    g = cg.parse("def f(v):\n    return 2*v + 1\nh = f(x)\nk = f(x)*3\nw = h*x\n")
    part = cg.to_dot(g, collapse=True, prune=True, legend=False).source
    assert "f₁" in part and "f₂" not in part and "_k" not in part
    wiring = Wiring(g, collapse=True, prune=True)
    assert len(wiring.groups) == len({grp.var for grp in wiring.groups})


@SETTINGS
@given(programs(vectors=False), st.data())
def test_prune_draws_exactly_what_the_output_is_computed_from(drawn, data) -> None:
    statements, point = drawn
    graph = cg.parse(program_text(statements))
    name = data.draw(st.sampled_from(sorted(graph.latest)))
    part = graph.with_output(name)
    wiring = Wiring(part, prune=True)
    live = part.ancestors_of_output
    assert sorted(grp.var for grp in wiring.groups) == [i for i in range(len(part.nodes))
                                                         if live[i]]
    source = cg.to_dot(part, prune=True, legend=False).source
    whole = cg.to_dot(part, legend=False).source
    assert set(edges(source)) <= set(edges(whole))
    assert "dotted" not in source  # nothing drawn is off the way to the output
