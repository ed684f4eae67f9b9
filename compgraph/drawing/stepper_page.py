"""The HTML stepper: one drawing inline, its stylesheet and script, nothing from anywhere.

The drawing is the tagged :class:`~compgraph.drawing.film.Film` itself: every number
carries ``data-show`` (the step from which it is shown) and every node and edge
``data-hot`` (the steps that work on it), so the script only toggles two classes and writes
the step's arithmetic into the panel. Buttons, a slider, the arrow keys (and Home, End,
Page Up, Page Down), and ``#step=N`` or ``#step=last`` in the address; a notebook cell gets
the same markup without the page around it, its keys bound to the stepper alone.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

from .film import HOT_NODE_WIDTH, HOT_EDGE_WIDTH, svg_text
from .markup import visible

if TYPE_CHECKING:
    from .stepper import Stepper

_STYLE = """
.cg-stepper { font-family: Helvetica, Arial, sans-serif; color: %(text)s; background: %(background)s;
  padding: 0.5em; outline: none; }
.cg-stepper .cg-count { font-size: 14px; color: %(muted)s; }
.cg-stepper .cg-panel { font-size: 22px; min-height: 1.5em; margin: 0.3em 0 0.5em; padding: 0.3em 0.6em;
  border-left: 5px solid %(hot)s; }
.cg-stepper .cg-controls { display: flex; align-items: center; gap: 0.4em; max-width: 48em; }
.cg-stepper .cg-controls button { font-size: 16px; min-width: 2.4em; padding: 0.2em 0.5em; cursor: pointer; }
.cg-stepper .cg-slider { flex: 1; accent-color: %(hot)s; }
.cg-stepper .cg-keys { font-size: 12px; color: %(muted)s; margin-left: 0.6em; }
.cg-stepper .cg-picture { margin-top: 0.6em; overflow-x: auto; }
.cg-stepper .cg-picture svg { max-width: 100%%; height: auto; }
.cg-stepper .cg-hidden { display: none; }
.cg-stepper .cg-new { font-weight: bold; }
.cg-stepper .cg-hot ellipse, .cg-stepper .cg-hot path, .cg-stepper .cg-hot polygon,
.cg-stepper .cg-hot polyline { stroke: %(hot)s; stroke-width: %(node_width)spx; }
.cg-stepper .edge.cg-hot path, .cg-stepper .edge.cg-hot polygon { stroke-width: %(edge_width)spx; }
.cg-stepper .edge.cg-hot polygon { fill: %(hot)s; }
"""

# Plain ES5, no libraries. It finds its own stepper (the element around the script), so a
# notebook may show several; only a whole page binds the keys to the document and the
# address to the step.
_SCRIPT = r"""
(function () {
  var me = document.currentScript, root = me && me.parentNode;
  if (!root || !root.classList || !root.classList.contains('cg-stepper')) {
    var waiting = document.querySelectorAll('.cg-stepper:not([data-ready])');
    root = waiting[waiting.length - 1];
  }
  if (!root) return;
  root.setAttribute('data-ready', '');
  var steps = JSON.parse(root.querySelector('.cg-steps').textContent);
  var n = steps.length, current = 0;
  var shown = root.querySelectorAll('[data-show]'), hot = root.querySelectorAll('[data-hot]');
  var slider = root.querySelector('.cg-slider'), text = root.querySelector('.cg-text');
  var count = root.querySelector('.cg-count'), whole = root.hasAttribute('data-standalone');
  function mark(el, name, on) { if (on) el.classList.add(name); else el.classList.remove(name); }
  function go(k) {
    k = Math.max(1, Math.min(n, Math.round(+k) || 1));
    current = k;
    for (var a = 0; a < shown.length; a++) {
      var s = +shown[a].getAttribute('data-show');
      mark(shown[a], 'cg-hidden', s > k);
      mark(shown[a], 'cg-new', s === k);
    }
    for (var b = 0; b < hot.length; b++) {
      mark(hot[b], 'cg-hot', (' ' + hot[b].getAttribute('data-hot') + ' ').indexOf(' ' + k + ' ') >= 0);
    }
    text.textContent = steps[k - 1].text;
    count.textContent = steps[k - 1].heading;
    slider.value = k;
    root.setAttribute('data-step', k);
    if (whole && location.hash !== '#step=' + k) {
      try { history.replaceState(null, '', '#step=' + k); } catch (e) { /* a sandboxed frame */ }
    }
  }
  function addressed() {  /* the step #step=N or #step=last asks for, or null */
    var m = /step=(\d+|last)/.exec(location.hash);
    return m ? (m[1] === 'last' ? n : +m[1]) : null;
  }
  var moves = { first: function () { return 1; }, prev: function () { return current - 1; },
                next: function () { return current + 1; }, last: function () { return n; } };
  var buttons = root.querySelectorAll('[data-go]');
  for (var c = 0; c < buttons.length; c++) {
    buttons[c].addEventListener('click', function (e) {
      go(moves[e.currentTarget.getAttribute('data-go')]());
    });
  }
  slider.addEventListener('input', function () { go(slider.value); });
  var keys = { ArrowRight: 'next', ArrowLeft: 'prev', PageDown: 'next', PageUp: 'prev',
               Home: 'first', End: 'last' };
  function onKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.target === slider) return;  /* the slider moves itself */
    var move = keys[e.key];
    if (!move) return;
    e.preventDefault();
    go(moves[move]());
  }
  (whole ? document : root).addEventListener('keydown', onKey);
  if (whole) {
    window.addEventListener('hashchange', function () {
      var k = addressed();
      if (k !== null && k !== current) go(k);
    });
  }
  go((whole && addressed()) || 1);
})();
"""


TEMPLATE = _STYLE + _SCRIPT


def _json_for_script(data: object) -> str:
    """JSON that cannot end its ``<script>`` element early."""
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def page(stepper: "Stepper", *, standalone: bool = True) -> str:
    """The stepper's markup: a whole HTML page, or the fragment a notebook cell shows."""
    colors = stepper.film.colors
    style = _STYLE % {"text": colors["text"], "background": colors["background"],
                      "muted": colors["local"], "hot": stepper.film.hot_color,
                      "node_width": HOT_NODE_WIDTH, "edge_width": HOT_EDGE_WIDTH}
    steps = [{"text": t, "heading": h} for t, h in zip(stepper.texts, stepper.headings)]
    n = len(steps)
    # The title as pictures show it (control characters as escapes; HTML has no place
    # for them, and a lone surrogate cannot even be written as UTF-8).
    title = visible(stepper.title or f"backprop step by step: {stepper.walk.graph.output_name}")
    heading = f'<div class="cg-title">{html.escape(title)}</div>\n' if stepper.title else ""
    body = (
        f'<div class="cg-stepper" tabindex="0"{" data-standalone" if standalone else ""}>\n'
        f"<style>{style}</style>\n{heading}"
        f'<div class="cg-count">{html.escape(stepper.headings[0])}</div>\n'
        f'<div class="cg-panel" aria-live="polite"><span class="cg-text">'
        f"{html.escape(stepper.texts[0])}</span></div>\n"
        '<div class="cg-controls">\n'
        '<button type="button" data-go="first" title="first step (Home)">&#x23EE;</button>\n'
        '<button type="button" data-go="prev" title="back (&#x2190;)">&#x25C0;</button>\n'
        f'<input class="cg-slider" type="range" min="1" max="{n}" value="1" step="1" '
        'aria-label="step">\n'
        '<button type="button" data-go="next" title="next (&#x2192;)">&#x25B6;</button>\n'
        '<button type="button" data-go="last" title="last step (End)">&#x23ED;</button>\n'
        '<span class="cg-keys">&#x2190; &#x2192; keys</span>\n'
        "</div>\n"
        f'<div class="cg-picture">{svg_text(stepper.film.root, standalone=False)}</div>\n'
        f'<script type="application/json" class="cg-steps">{_json_for_script(steps)}</script>\n'
        f"<script>{_SCRIPT}</script>\n"
        "</div>"
    )
    if not standalone:
        return body
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n"
            f'<style>body {{ margin: 1em; background: {colors["background"]}; }}</style>\n'
            f"</head>\n<body>\n{body}\n</body>\n</html>\n")
