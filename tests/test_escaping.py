"""User text reaches DOT and SVG escaped (issue 8): in every surface and every view, ``dot``
accepts the DOT, the SVG is well-formed XML with no active content, and the text is shown
as written (control characters as visible escapes).

Surfaces: the title; names given through ``GraphBuilder`` and ``Program`` (which refuse
anything the language could not write, with a clear error) and through the language;
cost names; values; the output name of a bare expression. Hostile strings come from a
fixed table and from Hypothesis.
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import compgraph as cg
from compgraph.drawing import markup as mk
from compgraph.drawing import to_dot
from compgraph.drawing.dot import BASE_VIEWS, VIEWS
from compgraph.errors import ParseError, RenderError
from compgraph.graph import GraphBuilder
from fuzzing import HOSTILE, picture_problems, render_svgs, svg_problems

SVG = "{http://www.w3.org/2000/svg}"


def homework(**names: str) -> tuple:
    """The homework graph built with ``Program`` (names replaceable), its numbers, and
    ``to_dot``'s arguments for each view."""
    x_, y_, z_, a_, w_ = (names.get(k, k) for k in ("x", "y", "z", "a", "w"))
    p = cg.Program()
    x, y, z = p.input(x_), p.input(y_), p.input(z_)
    a = p.let(a_, x * y + z)
    p.let(w_, a * (x + x) + a)
    g = p.graph()
    values = cg.evaluate(g, {x_: 2.0, y_: 3.0, z_: 1.0})
    return g, values, cg.backward(g, values), cg.tangents(g, values, x_), \
        cg.local_derivatives(g, values)


def explaining(g, values, grads, view: str) -> dict:
    """What an explaining view draws: the paths from the first input, or the node check."""
    if view == "paths":
        return {"paths": cg.paths(g, values, g.input_names[0])}
    if view == "check":
        return {"check": cg.check_nodes(g, values, grads)}
    return {}


def draw(g, values, grads, tans, local, view: str, **options) -> str:
    return to_dot(g, view, values, grads, tans, local, edge_labels="both",
                  **explaining(g, values, grads, view), **options).source


def svg_texts(svg: str) -> list[str]:
    return ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]


def assert_pictures_fine(sources: list[str], labels: list[str]) -> list[str]:
    """Every source drawn by dot without error, into clean SVG; returns the SVGs."""
    results = render_svgs(sources)
    bad = []
    for label, (problem, svg) in zip(labels, results):
        problem = problem or "; ".join(svg_problems(svg)) or None
        if problem:
            bad.append(f"{label!r}: {problem}")
    assert not bad, "\n".join(bad)
    return [svg for _, svg in results]


def spaced(text: str) -> str:
    """``text`` with no-break spaces as spaces: Graphviz writes the second of two spaces
    as ``&#160;`` (so that SVG shows both)."""
    return text.replace("\xa0", " ").strip()


def shown(text: str) -> list[str]:
    """The non-blank lines a picture shows for ``text``, as SVG text holds them (compared
    through :func:`spaced`)."""
    return [spaced(line) for line in mk.visible(text).split("\n") if spaced(line)]


# --- the title -------------------------------------------------------------------------------

@pytest.mark.needs_dot
@pytest.mark.parametrize("view", VIEWS)
def test_hostile_titles_in_every_view(view: str) -> None:
    numbers = homework()
    sources = [draw(*numbers, view, title=t) for t in HOSTILE]
    for title, svg in zip(HOSTILE, assert_pictures_fine(sources, HOSTILE)):
        texts = {spaced(t) for t in svg_texts(svg)}
        for line in shown(title):
            assert line in texts, (title, line)


def test_control_characters_are_shown_as_escapes() -> None:
    assert mk.visible("a\x01b\x7f\x85\ud800\ufffe") == "a\\x01b\\x7f\\x85\\ud800\\ufffe"
    assert mk.visible("\udcff") == "\\xff"  # the byte 0xff of a non-UTF-8 argument
    assert mk.visible("a\tb\r\nc\rd\u2028e") == "a b\nc\nd\ne"
    # The escape's backslash is doubled in DOT, so that Graphviz shows it literally.
    assert mk.text("a\x00b") == mk.plain("a\x00b") == "a\\\\x00b"


def test_entities_and_backslashes_stay_literal() -> None:
    assert mk.plain("&nbsp;") == "&amp;nbsp;"  # Graphviz decodes entities in plain labels
    assert mk.plain("a\\") == mk.text("a\\") == "a\\\\"
    assert mk.text("]") == "&#93;" and mk.text("a]") == "a]"


@pytest.mark.needs_dot
def test_text_is_shown_exactly() -> None:
    cases = ["&nbsp;", "&bogus;", "a\\", "\\N", "]", "]]", "<b>x</b>", "a\x01b", "\t", "😀"]
    sources = [to_dot(cg.parse("y = 2*x"), title=t, legend=False).source for t in cases]
    svgs = assert_pictures_fine(sources, cases)
    assert [svg_texts(s)[0] for s in svgs] == [
        "&nbsp;", "&bogus;", "a\\", "\\N", "]", "]]", "<b>x</b>", "a\\x01b", " ", "😀"]


@pytest.mark.needs_dot
def test_long_text_is_cut_below_graphviz_limits() -> None:
    # dot rejects a string or id over 16,384 bytes: long text is cut, escapes and all.
    long = ["n" * 20000, "&" * 5000, "😀" * 5000, "\x01" * 5000, "<" * 5000, "\\" * 9000]
    sources = [to_dot(cg.parse("y = 2*x"), title=t, legend=False).source for t in long]
    for t, svg in zip(long, assert_pictures_fine(sources, [t[:10] for t in long])):
        assert svg_texts(svg)[0] == mk.visible(t) and mk.visible(t).endswith("…")
    name = "n" * 20000
    g = cg.parse(f"x = 1 + {name}")
    v = cg.evaluate(g, {name: 2.0})
    (svg,) = assert_pictures_fine([to_dot(g, "backward", v, cg.backward(g, v)).source], [name])
    assert "n" * (mk.MAX_TEXT - 1) + "…" in svg_texts(svg)
    assert mk.node_id("v1", name) == "v1"


# --- pages written directly: worksheets, the diff view, stepper frames and page -------------

def _pages(title: str) -> dict[str, str]:
    from compgraph.drawing.diff import diff_svg
    from compgraph.drawing.stepper import stepper
    from compgraph.drawing.worksheet import worksheet_svg
    from compgraph.steps import walkthrough

    g = cg.parse("a = x*y + z, w = a*a")
    v, v2 = cg.evaluate(g, x=2, y=3, z=1), cg.evaluate(g, x=2.5, y=3, z=1)
    grads, grads2 = cg.backward(g, v), cg.backward(g, v2)
    steps = stepper(g, v, grads, title=title)
    return {"worksheet": worksheet_svg(walkthrough(g, v, grads), title=title),
            "diff": diff_svg(v2, grads2, v, grads, title=title),
            "frame": steps.frame(1), "page": steps.html()}


@pytest.mark.needs_dot
def test_hostile_titles_in_pages_written_directly() -> None:
    import html
    import re

    bad = []
    for title in HOSTILE:
        pages = _pages(title)
        page = pages.pop("page")
        for name, svg in pages.items():
            problems = svg_problems(svg)
            if problems:
                bad.append(f"{name} {title!r}: {problems[0]}")
        page.encode("utf-8")  # a lone surrogate could not be written
        assert len(re.findall("<script", page, re.I)) == 2, title  # its own two
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", page), title
        if title.strip():
            assert f"<title>{html.escape(mk.visible(title))}</title>" in page
    assert not bad, "\n".join(bad)


# --- names -------------------------------------------------------------------------------

NOT_NAMES = [s for s in HOSTILE if not s.isidentifier()] + ["1x", "a b", "x-y", "", "x.y"]
ODD_NAMES = ["digraph", "node", "subgraph", "strict", "edge", "graph", "שלום", "مرحبا",
             "x" * 300, "ŷ", "x\u0302", "α_β", "__class__", "lambda", "e", "pi", "sum", "o",
             "L", "None", "ǅ", "ℵ0", "Ⅻ"]


@pytest.mark.parametrize("name", NOT_NAMES)
def test_builders_refuse_what_the_language_cannot_write(name: str) -> None:
    def attempts():
        yield lambda: GraphBuilder().input(name)
        b = GraphBuilder()
        node = b.input("x")
        yield lambda: b.bind(name, node)
        yield lambda: cg.Program().input(name)
        p = cg.Program()
        x = p.input("x")
        yield lambda: p.let(name, 2 * x)

    for attempt in attempts():
        with pytest.raises(ParseError, match="is not a valid name") as info:
            attempt()
        assert repr(name) in str(info.value)


def test_keywords_are_not_names() -> None:
    for word in ("def", "return"):
        with pytest.raises(ParseError, match=f"'{word}' is a keyword of the language"):
            cg.Program().input(word)


def test_names_are_taken_as_the_language_reads_them() -> None:
    with pytest.raises(ParseError, match=r"reads it as 'fi' \(NFKC\); use 'fi'"):
        cg.Program().input("ﬁ")
    with pytest.raises(TypeError, match="a name is a string, not int"):
        GraphBuilder().input(3)  # type: ignore[arg-type]
    p = cg.Program()
    assert p.let("ŷ", 2 * p.input("x")).program is p  # NFKC-normal names are fine


def test_identifier_names_keep_their_dot_ids_and_others_do_not() -> None:
    assert mk.node_id("v1", "a = b′") == "v1_a = b′"
    for label in ("a:b", "a\\", "&nbsp;", 'a"b', "x + 1", "a\x01"):
        assert mk.node_id("v1", label) == "v1"


@pytest.mark.needs_dot
@pytest.mark.parametrize("view", VIEWS)
def test_odd_names_in_every_view(view: str) -> None:
    pictures, labels, expected = [], [], []
    for name in ODD_NAMES:
        normal = unicodedata.normalize("NFKC", name)
        numbers = homework(a=normal)
        pictures.append(draw(*numbers, view))
        labels.append(name)
        expected.append(normal)
        # The same name through the language.
        g = cg.parse(f"{name} = 2*x + y\n{name} *= {name}")
        v = cg.evaluate(g, x=1, y=2)
        pictures.append(draw(g, v, cg.backward(g, v), cg.tangents(g, v, "x"),
                             cg.local_derivatives(g, v), view))
        labels.append(f"{name} (language)")
        expected.append(normal)
    for name, svg in zip(expected, assert_pictures_fine(pictures, labels)):
        texts = " ".join(svg_texts(svg))
        assert name in texts


@pytest.mark.needs_dot
def test_output_names_of_bare_expressions() -> None:
    programs = ["x + 1", "[1, 2] @ x", "x \\\n  + y", "sum([[1]]) * x  # <b>&amp;",
                "(x)", "-x ** 2", "leaky_relu(x, 0.5) / [2, 4]"]
    sources, labels = [], []
    for text in programs:
        g = cg.parse(text)
        v = cg.evaluate(g, {n: np.array([1.0, 2.0]) for n in g.input_names})
        for view in BASE_VIEWS:  # the explaining views need a scalar output
            sources.append(to_dot(g, view, v, title=g.output_name).source)
            labels.append(f"{text} ({view})")
    assert_pictures_fine(sources, labels)
    assert cg.parse("x \\\n  + y").output_name == "x + y"


# --- cost names and values -----------------------------------------------------------------

@pytest.mark.parametrize("name", HOSTILE[:12] + ["", "a:b", "x\x00"])
def test_unknown_cost_names_are_an_error_naming_them(name: str) -> None:
    g = cg.parse("a = x*y, C = a + 1")
    with pytest.raises(RenderError, match="cannot mark") as info:
        to_dot(g, costs=[name])
    assert repr(name) in str(info.value) and "it has: x, y, a, C" in str(info.value)


@pytest.mark.needs_dot
@pytest.mark.parametrize("view", VIEWS)
def test_cost_names_and_extreme_values_in_every_view(view: str) -> None:
    extremes = [np.nan, np.inf, -np.inf, 1e308, -1e308, 5e-324, -0.0, 1e-300,
                np.array([np.nan, np.inf, -1e308]), np.array([[1e308, -0.0], [np.nan, 5e-324]]),
                np.arange(40.0).reshape(5, 8)]
    sources, labels = [], []
    for value in extremes:
        for name in ("node", "שלום", "x" * 200):
            g = cg.parse(f"{name} = x*y + exp(x), C = sum({name} * {name})")
            v = cg.evaluate(g, x=value, y=value)
            grads = cg.backward(g, v)
            tans = cg.tangents(g, v, "x")
            sources.append(draw(g, v, grads, tans, cg.local_derivatives(g, v), view,
                                costs=[name], title=name))
            labels.append(f"{name} at {value!r}")
    assert_pictures_fine(sources, labels)


# --- Hypothesis ------------------------------------------------------------------------------

FRAGMENTS = ["<", ">", "&", ";", '"', "'", "\\", "]", "[", "\n", "\t", "\r", "\x00", "#",
             "&nbsp;", "&amp;", "&#93;", "<br/>", "</font>", "<b>", "]]>", ":", "\udcff",
             "\u202e", "😀", " ", "=", "label"]
HOSTILE_TEXT = st.lists(st.one_of(st.sampled_from(FRAGMENTS),
                                  # any code point, surrogates and controls too (spelled
                                  # so that the oldest supported hypothesis takes it)
                                  st.text(st.integers(0, 0x10FFFF).map(chr), max_size=4)),
                        max_size=8).map("".join)
FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.needs_dot
@FAST
@given(title=HOSTILE_TEXT, view=st.sampled_from(VIEWS))
def test_any_title_draws(title: str, view: str) -> None:
    numbers = homework()
    (svg,) = assert_pictures_fine([draw(*numbers, view, title=title, legend=False)], [title])
    texts = {spaced(t) for t in svg_texts(svg)}
    for line in shown(title):
        assert line in texts


_IDENTIFIER_CATEGORIES = ["Lu", "Ll", "Lt", "Lm", "Lo", "Nl", "Mn", "Mc", "Nd", "Pc"]
try:
    IDENTIFIER_CHARS = st.characters(categories=_IDENTIFIER_CATEGORIES)
except TypeError:  # hypothesis before 6.84 names it whitelist_categories
    IDENTIFIER_CHARS = st.characters(whitelist_categories=_IDENTIFIER_CATEGORIES)


@pytest.mark.needs_dot
@FAST
@given(name=st.one_of(st.text(IDENTIFIER_CHARS, min_size=1, max_size=12), HOSTILE_TEXT),
       view=st.sampled_from(VIEWS))
def test_any_name_is_refused_or_drawn(name: str, view: str) -> None:
    valid = (name.isidentifier() and unicodedata.normalize("NFKC", name) == name
             and name not in ("def", "return"))
    if not valid:
        with pytest.raises(ParseError, match="not a valid name|is a keyword"):
            cg.Program().input(name)
        return
    (svg,) = assert_pictures_fine([draw(*homework(a=name), view, legend=False)], [name])
    assert name in " ".join(svg_texts(svg))


@FAST
@given(text=HOSTILE_TEXT)
def test_markup_never_leaks_user_markup(text: str) -> None:
    body = mk.text(text).replace("<br/>", "")
    assert not any(ch in body for ch in "<>\"'")
    shown_text = mk.visible(text)
    assert all(ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs") for ch in shown_text)
    assert "\ufffe" not in shown_text and "\uffff" not in shown_text
    plain = mk.plain(text)
    assert "&" not in plain.replace("&amp;", "")  # no entity Graphviz would decode


def test_svg_problems_finds_what_it_looks_for() -> None:
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
           '<script>x()</script><a xlink:href="javascript:y()"><text onmouseover="z()">t'
           '</text></a></svg>')
    assert svg_problems(svg) == ["active content: <script>",
                                 'active content: <a href="javascript:y()">',
                                 "active content: <text onmouseover=...>"]
    assert picture_problems(["digraph { a [label=<<i>]</i>>] }"])[0] is not None
