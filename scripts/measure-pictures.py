#!/usr/bin/env python3
"""Print, for each gallery picture, its size, aspect ratio and smallest text on a slide.

    python scripts/measure-pictures.py [RENDERS_DIR]     # default: renders/

Each picture of an example in a view (not the plots) is scaled to fit a
1280×720 slide; "smallest px" is its smallest font size at that scale (the goal is 9 px or
more). "clashes" counts annotations that meet something not their own (goal: 0); the
measures are those of compgraph.drawing.measure, which the tests apply too.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compgraph.drawing.measure import annotation_clashes, read_svg, slide_fit  # noqa: E402


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "renders"
    rows = []
    for path in sorted(folder.glob("*.svg")):
        if path.stem.rsplit("-", 1)[-1] not in ("forward", "backward", "both", "tangent"):
            continue  # a plot, not a picture of a graph
        pic = read_svg(path.read_text(encoding="utf-8"))
        fit = slide_fit(pic)
        rows.append((path.stem, pic.width, pic.height, fit, len(annotation_clashes(pic))))
    print(f"{'picture':<44} {'size (pt)':>11} {'aspect':>7} {'smallest':>9} "
          f"{'at 1280×720':>12} {'clashes':>8}")
    for name, w, h, fit, clashes in rows:
        print(f"{name:<44} {w:>5.0f}×{h:<5.0f} {fit.aspect:>7.2f} {fit.smallest_pt:>6.1f} pt "
              f"{fit.smallest_px:>9.1f} px {clashes:>8}")
    worst = min(rows, key=lambda r: r[3].smallest_px)
    print(f"\nsmallest text of all: {worst[3].smallest_px:.1f} px ({worst[0]}); "
          f"goal ≥ 9 px: {'met' if worst[3].smallest_px >= 9 else 'NOT met'}; "
          f"annotation clashes: {sum(r[4] for r in rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
