"""The one-way layers of style.md principle 6, read from the imports of every module.

core (errors, ops, graph) → language (lexer, parser, builder) → evaluation (evaluate,
differentiate, steps) → rendering/export (drawing/*, export, plot) → command line (cli,
render_cli, steps_cli, __main__). A module imports only its own layer or lower ones; only rendering
and above may import graphviz, networkx or matplotlib. ``compgraph/__init__.py`` is exempt
but must import rendering and export lazily.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "compgraph"

LAYERS = ["core", "language", "evaluation", "rendering", "command line"]
LAYER_OF = {
    "compgraph.errors": "core", "compgraph.version": "core", "compgraph.ops": "core", "compgraph.graph": "core",
    "compgraph.symbolic": "core", "compgraph.latex": "core",
    "compgraph.backprop": "evaluation",
    "compgraph.lexer": "language", "compgraph.parser": "language", "compgraph.builder": "language",
    "compgraph.functions": "language", "compgraph.fastparse": "language",
    "compgraph.evaluate": "evaluation", "compgraph.differentiate": "evaluation",
    "compgraph.steps": "evaluation",
    "compgraph.tracing": "evaluation", "compgraph.pathsum": "evaluation",
    "compgraph.nonfinite": "evaluation", "compgraph.nodecheck": "evaluation",
    "compgraph.drawing": "rendering", "compgraph.export": "rendering", "compgraph.plot": "rendering",
    "compgraph.cli": "command line", "compgraph.cli_input": "command line",
    "compgraph.render_cli": "command line", "compgraph.steps_cli": "command line",
    "compgraph.paths_cli": "command line", "compgraph.table_cli": "command line",
    "compgraph.render_views": "command line",
    "compgraph.__main__": "command line",
    "compgraph.commands": "command line", "compgraph.progress": "command line",
    "compgraph.train": "evaluation", "compgraph.train_plot": "rendering",
    # the main job (`python -m compgraph.gallery`): an entry point that renders the examples
    "compgraph.gallery": "command line",
}
DRAWING_LIBRARIES = {"graphviz", "networkx", "matplotlib"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(module: str) -> str | None:
    """The layer of a compgraph module: its own entry, or its package's (drawing.*)."""
    parts = module.split(".")
    while parts:
        name = ".".join(parts)
        if name in LAYER_OF:
            return LAYER_OF[name]
        parts.pop()
    return None


def imports(path: Path, here: str | None = None) -> list[tuple[str, int]]:
    """Every module ``path`` imports (top level or inside functions), absolute, with its line.
    ``here`` is the module's dotted name (default: from its place in the repository)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = here or module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if node.module is None:
                # `from . import x`: each name is a module of the package
                out += [(f"{target}.{alias.name}", node.lineno) for alias in node.names]
            else:
                out.append((target, node.lineno))
    return out


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_layer_table_covers_every_module() -> None:
    unassigned = [module_name(p) for p in MODULES if layer(module_name(p)) is None]
    assert not unassigned, (f"modules without a layer: {unassigned}; add them to LAYER_OF in "
                            "tests/test_layering.py (and keep the layering one-way)")


def test_layer_table_names_real_modules() -> None:
    present = {module_name(p) for p in PACKAGE.rglob("*.py")}
    # the core, language and evaluation layers exist today
    for name, where in LAYER_OF.items():
        if where in ("core", "language", "evaluation"):
            assert name in present, name


KNOWN_VIOLATIONS: dict[str, str] = {}


def _module_params() -> list:
    out = []
    for p in MODULES:
        name = module_name(p)
        marks = ([pytest.mark.xfail(strict=True, reason=KNOWN_VIOLATIONS[name])]
                 if name in KNOWN_VIOLATIONS else [])
        out.append(pytest.param(p, id=name, marks=marks))
    return out


@pytest.mark.parametrize("path", _module_params())
def test_imports_go_one_way(path: Path) -> None:
    here = module_name(path)
    mine = layer(here)
    assert mine is not None, f"{here} has no layer"
    rank = LAYERS.index(mine)
    for target, line in imports(path):
        top = target.split(".")[0]
        if top == "compgraph":
            theirs = layer(target)
            assert theirs is not None, f"{here}:{line} imports {target}, which has no layer"
            assert LAYERS.index(theirs) <= rank, (
                f"{here} ({mine}) line {line} imports {target} ({theirs}): layers are one-way")
        elif top in DRAWING_LIBRARIES:
            assert LAYERS.index(mine) >= LAYERS.index("rendering"), (
                f"{here} ({mine}) line {line} imports {top}: only rendering and export may")


def test_the_checker_sees_relative_and_nested_imports(tmp_path: Path) -> None:
    """The import reader itself: relative levels, `from . import`, imports inside functions."""
    probe = tmp_path / "probe.py"
    probe.write_text("from . import ops\nfrom .drawing import x\nfrom .drawing.dot import d\n"
                     "def f():\n    from ..y import z\n    import graphviz\n", encoding="utf-8")
    found = sorted(t for t, _ in imports(probe, here="compgraph.sub.probe"))
    assert found == ["compgraph.sub.drawing", "compgraph.sub.drawing.dot", "compgraph.sub.ops",
                     "compgraph.y", "graphviz"]
    assert layer("compgraph.drawing.dot") == "rendering"
    assert layer("compgraph.cli") == "command line"


def test_package_init_has_no_eager_rendering_imports() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:  # module level only: lazy imports live inside __getattr__
        if isinstance(node, ast.ImportFrom):
            target = (node.module or "")
            assert not target.startswith(("drawing", "export", "plot", "cli")), target
            assert target.split(".")[0] not in DRAWING_LIBRARIES
        elif isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] not in DRAWING_LIBRARIES


def _loaded_after(code: str) -> list[str]:
    probe = (code + "\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules "
             "if m.split('.')[0] in ('graphviz', 'networkx', 'matplotlib') "
             "or m.startswith(('compgraph.drawing', 'compgraph.export', 'compgraph.plot')))))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_compgraph_does_not_import_graphviz_or_networkx() -> None:
    assert _loaded_after("import compgraph") == []


def test_evaluating_and_differentiating_does_not_import_rendering() -> None:
    code = ("import compgraph as cg\n"
            "g = cg.parse('a = x*y + z, b = a*(x + x), w = a*b + b')\n"
            "cg.gradients(g, x=2, y=3, z=1); cg.jacobian(g, 'x', x=2, y=3, z=1)")
    assert _loaded_after(code) == []


def test_eval_command_does_not_import_rendering() -> None:
    code = ("import contextlib, io\nfrom compgraph.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main(['eval', 'w = x*y', '--at', 'x=2,y=3', '--json']) == 0")
    assert _loaded_after(code) == []


def test_lazy_attributes_still_work() -> None:
    loaded = _loaded_after("import compgraph\ncompgraph.to_networkx")
    assert "compgraph.export" in loaded


# What `eval` of a short program does not need: the CLI starts about as fast as `import
# numpy` (issue 13) only if it leaves these to the commands that use them.
NOT_FOR_EVAL = ("compgraph.fastparse", "compgraph.backprop", "compgraph.steps",
                "compgraph.train", "compgraph.builder", "compgraph.nodecheck")


def test_eval_command_imports_only_what_evaluating_needs() -> None:
    code = ("import contextlib, io, json, sys\nfrom compgraph.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main(['eval', 'a = x*y+z; b = a*(x+x); w = a*b+b', '--at', "
            "'x=2,y=3,z=1']) == 0\n"
            "print(json.dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert "compgraph.evaluate" in loaded
    assert loaded.isdisjoint(NOT_FOR_EVAL), sorted(loaded.intersection(NOT_FOR_EVAL))


def test_the_package_names_what_it_imports_on_use() -> None:
    code = ("import compgraph as cg\nfrom compgraph import *\n"
            "assert cg.sgd is sgd and cg.walkthrough is walkthrough and cg.Var is Var\n"
            "g = cg.parse('y = 2*x'); assert cg.trace(g, cg.evaluate(g, x=1.0))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
