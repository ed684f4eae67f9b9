"""The HTML stepper in a real browser: Debian's chromium, headless.

Two ways in, both with only the standard library: ``--dump-dom`` (the page after its
script ran) for ``#step=last``, and the DevTools protocol over ``--remote-debugging-pipe``
for real key presses and mouse clicks (``Input.dispatchKeyEvent``,
``Input.dispatchMouseEvent``), read back from the panel. Skipped, saying how to install
it, only where no chromium is installed; ``scripts/setup.sh`` installs it.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

import compgraph as cg

pytestmark = pytest.mark.needs_dot

ROOT = Path(__file__).resolve().parents[1]
HOMEWORK = ROOT / "examples" / "homework-graph.cg"

# As root chromium needs --no-sandbox; the background services would reach for the network,
# which this kind of machine refuses, so they are off.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio"]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip("chromium is not installed, so the HTML stepper is not tested in a browser "
                    "(Debian/Ubuntu: apt-get install chromium; bash scripts/setup.sh installs it)")
    return path


@pytest.fixture(scope="module")
def homework_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    g = cg.parse(HOMEWORK.read_text(encoding="utf-8"))
    stepper = cg.stepper(g, cg.evaluate(g, x=2, y=3, z=1))
    path = tmp_path_factory.mktemp("stepper") / "hw.html"
    stepper.write_html(path)
    return path, stepper


def opening_tag(dom: str, number: str) -> str:
    """The opening tag of the tagged element (a text, or an annotation group) drawing
    ``number`` in a dumped page."""
    at = dom.index(f">{number}<")
    tagged = dom.rfind("data-show=", 0, at)
    return dom[dom.rfind("<", 0, tagged):dom.find(">", tagged) + 1]


def dump_dom(chromium: str, url: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}",
                               "--virtual-time-budget=5000", "--dump-dom", url],
                              capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-2000:]
    return proc.stdout.decode("utf-8")


_TRAMPOLINE = """
import fcntl, os, sys
# First out of the way of 3 and 4 (either end may be one of them), then onto them.
read_end, write_end = (fcntl.fcntl(int(fd), fcntl.F_DUPFD_CLOEXEC, 10) for fd in sys.argv[1:3])
os.dup2(read_end, 3, inheritable=True)
os.dup2(write_end, 4, inheritable=True)
os.execv(sys.argv[3], sys.argv[3:])
"""


class DevTools:
    """A minimal DevTools protocol client over --remote-debugging-pipe (fds 3 and 4)."""

    def __init__(self, chromium: str, url: str) -> None:
        self.profile = tempfile.TemporaryDirectory()
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # A small Python trampoline puts the two pipe ends on fds 3 and 4, where chromium
        # expects them (a POSIX shell's redirections stop at fd 9), then becomes chromium.
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(to_browser_r), str(from_browser_w),
             chromium, *FLAGS, f"--user-data-dir={self.profile.name}",
             "--remote-debugging-pipe", "--window-size=1400,900", url],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.loads = 0
        self.session: str | None = None

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            assert left > 0, "chromium did not answer in time"
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 65536)
                assert chunk, "chromium closed the DevTools pipe"
                self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b"\0")
        return json.loads(message)

    def send(self, method: str, timeout: float = 30, **params: Any) -> dict:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode("utf-8") + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                assert "error" not in reply, reply["error"]
                return reply.get("result", {})

    def attach(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            pages = [t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page"]
            if pages:
                break
            assert time.monotonic() < deadline, "chromium opened no page"
            time.sleep(0.1)
        self.session = self.send("Target.attachToTarget", targetId=pages[0]["targetId"],
                                 flatten=True)["sessionId"]

    def open(self, path: Path, fragment: str = "", steppers: int = 1) -> None:
        """Load ``path`` as a new document (a query tells it from the last one) and wait
        until its steppers' scripts have run."""
        self.loads += 1
        url = f"{path.as_uri()}?load={self.loads}{fragment}"
        self.send("Page.navigate", url=url)
        self.wait_for(f"location.search === '?load={self.loads}' && "
                      "document.readyState === 'complete' && "
                      f"document.querySelectorAll('.cg-stepper[data-ready]').length === {steppers}")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            assert time.monotonic() < deadline, f"never true: {expression}"
            time.sleep(0.05)

    def press(self, key: str, code: int) -> None:
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=key,
                      windowsVirtualKeyCode=code, nativeVirtualKeyCode=code)

    def click(self, selector: str, fraction: float = 0.5) -> None:
        """A real mouse click at ``fraction`` of the way across the element."""
        box = self.evaluate(f"(function () {{ var r = document.querySelector({json.dumps(selector)})"
                            ".getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()")
        x, y = box[0] + box[2] * fraction, box[1] + box[3] / 2
        self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (AssertionError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_browser)
        os.close(self.from_browser)
        self.profile.cleanup()


@pytest.fixture(scope="module")
def browser_process(chromium: str) -> Iterator[DevTools]:
    tools = DevTools(chromium, "about:blank")
    try:
        tools.attach()
        yield tools
    finally:
        tools.close()


@pytest.fixture
def browser(browser_process: DevTools, homework_page: tuple[Path, Any]) -> DevTools:
    """The homework's stepper, freshly loaded, at step 1."""
    browser_process.open(homework_page[0])
    return browser_process


PANEL = "document.querySelector('.cg-text').textContent"
STEP = "+document.querySelector('.cg-stepper').getAttribute('data-step')"


def test_step_last_shows_the_gradient_of_x(chromium: str, homework_page: tuple[Path, Any]) -> None:
    path, stepper = homework_page
    dom = dump_dom(chromium, path.as_uri() + "#step=last")
    assert f'data-step="{len(stepper)}"' in dom
    panel = re.search(r'<span class="cg-text">([^<]*)</span>', dom).group(1)
    assert panel == "x̄ = 56·1 + 56·1 + 60·3 = 292"
    # On the picture, x's gradient is shown (not hidden) and x is the highlighted node.
    x_group = re.search(r'<g class="([^"]*)" data-cg="v0_x".*?</g>', dom, re.S)
    assert "cg-hot" in x_group.group(1)
    assert "cg-hidden" not in opening_tag(dom, "292 = 180 + 56 + 56")


def test_step_n_in_the_address_opens_that_step(browser_process: DevTools,
                                               homework_page: tuple[Path, Any]) -> None:
    path, stepper = homework_page
    browser_process.open(path, "#step=5")
    assert browser_process.evaluate(STEP) == 5
    assert browser_process.evaluate(PANEL) == stepper.texts[4] == "a = x · y + z = 6 + 1 = 7"
    # Step 5 is forward: a's value is shown (in bold: it is new), no gradient is.
    shown = browser_process.evaluate(
        "Array.prototype.map.call(document.querySelectorAll('[data-show]:not(.cg-hidden)'), "
        "function (e) { return [e.getAttribute('data-kind'), e.textContent.trim(), "
        "e.classList.contains('cg-new')]; })")
    assert {kind for kind, _, _ in shown} == {"value"}
    assert ["value", "7", True] in shown and ["value", "224", False] not in shown


def test_arrow_keys_step_through(browser: DevTools, homework_page: tuple[Path, Any]) -> None:
    _, stepper = homework_page
    assert browser.evaluate(STEP) == 1
    assert browser.evaluate(PANEL) == "x = 2"
    for _ in range(5):
        browser.press("ArrowRight", 39)
    assert browser.evaluate(STEP) == 6
    assert browser.evaluate(PANEL) == stepper.texts[5] == "x + x = 2 + 2 = 4"
    assert browser.evaluate("location.hash") == "#step=6"
    browser.press("ArrowLeft", 37)
    assert browser.evaluate(PANEL) == stepper.texts[4]
    browser.press("End", 35)
    assert browser.evaluate(PANEL).endswith("= 292")
    browser.press("ArrowRight", 39)  # past the end: stays on the last step
    assert browser.evaluate(STEP) == len(stepper)
    browser.press("Home", 36)
    assert browser.evaluate(STEP) == 1


def test_buttons_and_slider(browser: DevTools, homework_page: tuple[Path, Any]) -> None:
    _, stepper = homework_page
    browser.click('[data-go="next"]')
    browser.click('[data-go="next"]')
    assert browser.evaluate(STEP) == 3
    browser.click('[data-go="last"]')
    assert browser.evaluate(STEP) == len(stepper)
    browser.click('[data-go="prev"]')
    assert browser.evaluate(PANEL) == stepper.texts[-2]
    browser.click(".cg-slider", fraction=0.0)
    assert browser.evaluate(STEP) == 1
    # The numbers follow the step: on step 1 only x's value is shown.
    shown = browser.evaluate("Array.prototype.map.call(document.querySelectorAll("
                             "'[data-show]:not(.cg-hidden)'), function (e) { return e.textContent.trim(); })")
    assert shown and set(shown) == {"2"}


def test_hash_change_moves_the_stepper(browser: DevTools) -> None:
    browser.evaluate("location.hash = '#step=12'")
    browser.wait_for(STEP + " === 12")


def test_two_steppers_in_one_notebook_page_keep_their_own_keys(
        browser_process: DevTools, tmp_path: Path) -> None:
    g = cg.parse("w = x*y + x")
    fragment = cg.stepper(g, cg.evaluate(g, x=2, y=3))._repr_html_()
    assert "<html" not in fragment and "<script>" in fragment
    page = tmp_path / "notebook.html"
    page.write_text(f"<!DOCTYPE html><meta charset='utf-8'><body>{fragment}{fragment}</body>",
                    encoding="utf-8")
    browser_process.open(page, steppers=2)
    browser_process.evaluate("document.querySelectorAll('.cg-stepper')[1].focus()")
    browser_process.press("ArrowRight", 39)
    browser_process.press("ArrowRight", 39)
    steps = browser_process.evaluate(
        "Array.prototype.map.call(document.querySelectorAll('.cg-stepper'), "
        "function (e) { return +e.getAttribute('data-step'); })")
    assert steps == [1, 3]
    assert browser_process.evaluate("location.hash") == ""  # a notebook's address is left alone
