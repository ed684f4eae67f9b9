"""What the command line reads from the user: PROGRAM, ``--at``, ``--inputs`` and argv itself.

Every mistake here is a :class:`UsageError` (exit 2) that names the argument, says what is
wrong with it and how to write it, and nothing is computed or written before it is raised.

The PROGRAM rule (README, "Command line"): ``-`` is standard input; an existing file is
read (UTF-8, a byte-order mark allowed); a folder is an error. Anything else is program
text only if it holds an ``=`` (or several lines, or nothing but spaces, which the parser
then calls empty): ``examples/homework-graph`` or ``two-layer-net`` is a mistyped file name, never the expression ``examples / homework - graph``. ``plot`` alone
also takes one expression in one input without ``=`` (``tanh(x)``, ``x**2``, ``1/x``).

>>> program_kind("y = 2*x"), program_kind("examples/nope.cg"), program_kind("tanh(x)")
('text', 'path', 'bare')
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Sequence

from .errors import CompgraphError, InputError, ParseError
from .evaluate import check_input_names
from .graph import Graph
from .parser import parse

# Array values nest at most this deep: NumPy's own limit is 32 or 64 dimensions, and the
# language's array literals stop at 32 too.
MAX_ARRAY_DEPTH = 32


class UsageError(CompgraphError, ValueError):
    """Bad command-line usage."""


# --- argv ------------------------------------------------------------------------------------

def check_argv_text(argv: Sequence[str]) -> None:
    """Refuse an argument holding bytes that are not text in the terminal's encoding.

    Python hands such bytes over as lone surrogates (``'\\udcff'``), which no file or
    terminal can hold; the argument is named, and its bytes shown, instead.

    >>> check_argv_text(["render", "y = x", "--title", "caf\\udce9"])
    Traceback (most recent call last):
      ...
    compgraph.cli_input.UsageError: --title: the argument holds bytes that are not text in this terminal's encoding (utf-8): b'caf\\xe9'
    """
    for k, arg in enumerate(argv):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            where = argv[k - 1] if k and argv[k - 1].startswith("-") else f"argument {k + 1}"
            if arg.startswith("-") and "=" in arg:
                where = arg.split("=", 1)[0]
            try:
                shown = repr(os.fsencode(arg))
            except UnicodeEncodeError:
                shown = ascii(arg)
            raise UsageError(f"{where}: the argument holds bytes that are not text in this "
                             f"terminal's encoding ({sys.getfilesystemencoding()}): {shown}"
                             ) from None


# --- PROGRAM -------------------------------------------------------------------------------

_SUFFIX = re.compile(r"\.[A-Za-z]\w*\s*$")


def program_kind(arg: str) -> str:
    """How a PROGRAM that is not ``-`` nor an existing file or folder reads: ``"path"``
    (one line ending in ``.cg``; or one line without ``=`` holding a ``/`` or ending in a
    file suffix such as ``.txt``, which the language has no use for), ``"text"`` (it holds
    an ``=``, several lines or only spaces), or ``"bare"`` (neither: ``two-layer-net``,
    ``tanh(x)``).

    >>> [program_kind(a) for a in ("y = x/2", "nets/two-layer", "two-layer-net", "a.json")]
    ['text', 'path', 'bare', 'path']
    """
    if "\n" in arg or not arg.strip():
        return "text"
    if arg.rstrip().endswith(".cg"):
        return "path"
    if "=" in arg:
        return "text"
    if "/" in arg or _SUFFIX.search(arg):
        return "path"
    return "bare"


def read_program(arg: str, expression_ok: bool = False) -> str:
    """PROGRAM as text: ``-`` (standard input), an existing file, or the program itself.

    ``expression_ok`` (``plot``) also accepts one expression without ``=`` (``tanh(x)``,
    ``1/x``). Raises :class:`UsageError` for a folder, a missing file (with the nearest
    ``.cg`` file as a suggestion), an unreadable or non-UTF-8 file, or a bare word.
    """
    if arg == "-":
        return _read_stdin()
    if "\n" not in arg and 0 < len(arg) < 4096:
        if os.path.isdir(arg):
            raise UsageError(f"{arg} is a folder, not a program file")
        if os.path.exists(arg):
            return _read_file(arg)
    kind = program_kind(arg)
    if kind == "text":
        return arg
    close = nearest_program_file(arg) if len(arg) <= 200 else None
    hint = f" (did you mean {close}?)" if close else ""
    if expression_ok and not arg.rstrip().endswith(".cg"):
        if _plot_expression(arg, file_like=kind == "path" or close is not None):
            return arg
        if kind == "bare" and not close:
            raise UsageError(f"no such file: {arg}; to plot a function, write it applied to "
                             "its input, e.g. tanh(x)")
    if kind == "path" or close:
        raise UsageError(f"no such file: {arg}{hint}")
    raise UsageError(f"{arg!r} is neither a file nor a program: program text assigns its "
                     f"output, e.g. \"y = {arg}\"")


def _plot_expression(arg: str, file_like: bool) -> bool:
    """Whether ``plot`` should take ``arg`` as an expression. A bare input (``tanh``
    alone would be drawn as the identity) never is; text that looks like a file name is
    only when it has the one input a plot needs (``1/x``, not ``examples/homework``);
    anything else is, and ``plot`` explains what it cannot draw. A parse error shows as
    it is, unless the text looks like a file name."""
    try:
        graph = parse(arg)
    except ParseError:
        if file_like:
            return False
        raise
    if graph.output in graph.inputs:
        return False
    return len(graph.input_names) == 1 or not file_like


def nearest_program_file(arg: str, root: str | os.PathLike[str] = ".") -> str | None:
    """The ``.cg`` file under ``root`` (its own files and one level of folders, plus the
    folder ``arg`` names) whose path or name is closest to ``arg``, or ``None``.

    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp()); (root / "examples").mkdir()
    >>> _ = (root / "examples" / "homework-graph.cg").write_text("w = x")
    >>> nearest_program_file("examples/homework-graf", root)
    'examples/homework-graph.cg'
    >>> nearest_program_file("two-layer-net", root) is None
    True
    """
    import difflib

    def programs(folder: str) -> list[str]:
        try:
            return sorted(n for n in os.listdir(folder) if n.endswith(".cg"))[:500]
        except (OSError, ValueError):
            return []

    root = os.fspath(root)
    try:
        subfolders = sorted(n for n in os.listdir(root) if not n.startswith(".")
                            and os.path.isdir(os.path.join(root, n)))[:200]
    except OSError:
        subfolders = []
    # Spelled as the user would type them: relative to root, or in the user's own folder.
    candidates = programs(root)
    for sub in subfolders:
        candidates += [f"{sub}/{n}" for n in programs(os.path.join(root, sub))]
    own = os.path.dirname(arg.rstrip("/"))
    if own and os.path.isdir(os.path.join(root, own)):
        candidates += [os.path.join(own, n) for n in programs(os.path.join(root, own))]
    want_dir, want_name = os.path.split(arg.rstrip("/").removesuffix(".cg"))
    best, best_score = None, 0.0
    for cand in dict.fromkeys(candidates):
        cand_dir, cand_name = os.path.split(cand.removesuffix(".cg"))
        # The name must be close; a folder counts only when the user gave one.
        score = difflib.SequenceMatcher(None, want_name, cand_name).ratio()
        if want_dir and want_dir != cand_dir:
            score *= difflib.SequenceMatcher(None, want_dir, cand_dir).ratio()
        if score > best_score:
            best, best_score = cand, score
    return best if best_score >= 0.75 else None


def _read_file(path: str) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return _decode(data, path)


def _read_stdin() -> str:
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # replaced by a text stream (tests, notebooks)
        return sys.stdin.read().removeprefix("\ufeff")
    return _decode(buffer.read(), "standard input")


def _decode(data: bytes, where: str) -> str:
    """UTF-8, with or without a byte-order mark; anything else names the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UsageError(f"cannot read {where}: it is not UTF-8 text (byte "
                         f"{data[exc.start]:#04x} on line {line})") from None


# --- --at and --inputs ---------------------------------------------------------------------

def split_top_level(text: str) -> list[str]:
    """Split ``x=1,W=[[1,2],[3,4]]`` on the commas outside brackets.

    >>> split_top_level("x=1, W=[[1,2],[3,4]]")
    ['x=1', 'W=[[1,2],[3,4]]']
    """
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _json(text: str, where: str, **hooks: Any) -> Any:
    """JSON whose numbers follow IEEE: an integer too large for a float is ±inf (as
    ``1e999`` is), never a 4,300-digit limit or an overflow."""
    import json  # here: most command lines give numbers only

    try:
        return json.loads(text, parse_int=float, **hooks)
    except RecursionError:
        # (how deep json itself can go depends on the Python version)
        raise UsageError(f"{where}: nested more than {MAX_ARRAY_DEPTH} deep (arrays have at "
                         f"most {MAX_ARRAY_DEPTH} dimensions)") from None


def _check_depth(value: Any, where: str) -> Any:
    """Refuse arrays nested deeper than :data:`MAX_ARRAY_DEPTH` (walked without recursion)."""
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, list):
            if depth >= MAX_ARRAY_DEPTH:
                raise UsageError(f"{where}: nested more than {MAX_ARRAY_DEPTH} deep (arrays "
                                 f"have at most {MAX_ARRAY_DEPTH} dimensions)")
            stack.extend((x, depth + 1) for x in v)
    return value


def number_or_json(name: str, text: str) -> Any:
    """An ``--at`` value: a number (``2``, ``-1e-3``, ``inf``) or a JSON array.

    >>> number_or_json("x", "2"), number_or_json("x", "[1, 2]"), number_or_json("x", "1" + "0" * 400)
    (2.0, [1.0, 2.0], inf)
    """
    try:
        return float(text)   # float() of a string has no digit limit: 10**400 is inf
    except ValueError:
        pass
    import json

    where = f"--at {name}={_short(text)}"
    try:
        value = _json(text, where)
    except json.JSONDecodeError:
        raise UsageError(f"{where}: the value must be a number or a JSON array "
                         f"such as [1, 2] or [[1, 2], [3, 4]]") from None
    return _check_depth(value, where)


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else f"{text[:limit]}..."


def parse_at(items: Sequence[str] | None) -> dict[str, Any]:
    """``--at x=2,y=3 --at W=[[1,2],[3,4]]`` as a mapping of names to raw values.

    A name given twice is an error, not last-wins: one of the two is a typo.

    >>> parse_at(["x=2,y=3", "W=[[1,2],[3,4]]"])
    {'x': 2.0, 'y': 3.0, 'W': [[1.0, 2.0], [3.0, 4.0]]}
    >>> parse_at(["x=2", "x=5"])
    Traceback (most recent call last):
      ...
    compgraph.cli_input.UsageError: --at x is given twice (x=2 and x=5); give each input once
    """
    out: dict[str, Any] = {}
    texts: dict[str, str] = {}
    for item in items or ():
        for part in split_top_level(item):
            name, sep, text = part.partition("=")
            name, text = name.strip(), text.strip()
            if not sep or not name:
                raise UsageError(f"--at {_short(part)}: write NAME=VALUE, e.g. --at x=2,y=3")
            if name in out:
                raise UsageError(f"--at {name} is given twice ({name}={_short(texts[name])} and "
                                 f"{name}={_short(text)}); give each input once")
            out[name] = number_or_json(name, text)
            texts[name] = text
    return out


def read_inputs(path: str | None) -> dict[str, Any]:
    """The JSON object of ``--inputs FILE.json`` (UTF-8, a byte-order mark allowed)."""
    if path is None:
        return {}
    where = f"--inputs {path}"
    if os.path.isdir(path):
        raise UsageError(f"{where}: is a folder, not a JSON file")
    try:
        with open(path, "rb") as f:
            text = _decode(f.read(), path)
    except OSError as exc:
        raise UsageError(f"{where}: {exc.strerror or exc}") from None

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise UsageError(f"{where}: {key!r} is given twice; give each input once")
            seen[key] = value
        return seen

    import json

    try:
        data = _json(text, where, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected one JSON object mapping input names to "
                         "numbers or nested lists")
    for name, value in data.items():
        _check_depth(value, f"{where}: {name}")
    return data


def check_point(graph: Graph, point: dict[str, Any]) -> None:
    """Every given name an input and every input given (or defaulted), else an error that
    says how to fix it on the command line."""
    check_input_names(graph, point)
    names = graph.input_names
    missing = [n for n, i in zip(names, graph.inputs)
               if n not in point and graph.nodes[i].value is None]
    if missing:
        s = "s" if len(missing) > 1 else ""
        example = ",".join(f"{n}=..." for n in missing[:3])
        raise InputError(f"no value for input{s} {', '.join(missing)}; give "
                         f"{'them' if s else 'it'} with --at {example} (numbers or JSON "
                         "arrays) or --inputs FILE.json")
