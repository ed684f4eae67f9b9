"""What a long command is doing, on standard error while it works, when that is a terminal.

A large picture takes a while (building its DOT, laying it out, writing it); after a
couple of seconds without a word a user wonders whether it hangs. :class:`Progress` keeps
one line on the terminal, ``render: laying out with neato (about 20 s), 14 s so far``, redrawn
every half second by a timer thread while a step runs, and takes it away at the end.
Standard error that is not a terminal (a test, a pipe, a log) gets nothing, so what a
script reads does not change.

>>> import io
>>> quiet = io.StringIO()  # not a terminal
>>> with Progress(quiet, "render", after=0.0) as progress:
...     progress.step("building the picture")
...     progress.say("note: a sentence for the user")
>>> quiet.getvalue()
'note: a sentence for the user\\n'
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Callable, TextIO


class Progress:
    """One progress line on ``stream`` for the command ``what``: shown once the command
    has run ``after`` seconds, redrawn every ``every`` seconds, only on a terminal.
    ``step(text)`` names what is being done now; ``say(message)`` prints a message above
    it; leaving the ``with`` block (or ``close()``) takes the line away."""

    AFTER = 2.0   # seconds: anything shorter goes without a word
    EVERY = 0.5   # seconds between redraws of the elapsed time

    def __init__(self, stream: TextIO, what: str, *, after: float | None = None,
                 every: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.what = what
        self.after = self.AFTER if after is None else after
        self.every = self.EVERY if every is None else every
        self.clock = clock
        self.start = clock()
        self.text = ""
        self.shown = False
        isatty = getattr(stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self._ticker: object | None = None
        if self.tty:
            import threading

            self._lock = threading.Lock()
            self._stop = threading.Event()

    def __enter__(self) -> Progress:
        if self.tty:
            import threading

            ticker = threading.Thread(target=self._tick, name="compgraph-progress",
                                      daemon=True)
            ticker.start()
            self._ticker = ticker
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def _tick(self) -> None:
        while not self._stop.wait(self.every):
            self.draw()

    def step(self, text: str) -> None:
        """Start the step ``text`` (``laying out with neato``)."""
        self.text = text
        self.draw()

    def draw(self) -> None:
        """Show the line, once ``after`` seconds have passed (a terminal only)."""
        if not self.tty or not self.text:
            return
        elapsed = self.clock() - self.start
        if elapsed < self.after:
            return
        with self._lock:
            self.stream.write(f"\r{self.what}: {self.text}, {elapsed:.0f} s so far\x1b[K")
            self.stream.flush()
            self.shown = True

    def say(self, message: str) -> None:
        """Print ``message`` on a line of its own (above the progress line, on a terminal)."""
        if not self.tty:
            print(message, file=self.stream)
            return
        with self._lock:
            self._clear()
            print(message, file=self.stream)
        self.draw()

    def _clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False

    def close(self) -> None:
        """Stop redrawing and take the line away."""
        if not self.tty:
            return
        self._stop.set()
        ticker = self._ticker
        if ticker is not None:
            ticker.join()  # type: ignore[attr-defined]
            self._ticker = None
        with self._lock:
            self._clear()
