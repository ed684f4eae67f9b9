"""``python -m compgraph``: the command line."""

import os
import sys

from .cli import EXIT_FAILED, main


def run() -> None:
    """Run the command line and leave the process with its exit code, without the
    interpreter's teardown.

    Tearing down frees every object of every module one by one (NumPy's, graphviz's and
    ours): a fifth of a small ``render``'s time (bench/bench_render.py --latency), spent
    after the work is done, while the operating system frees the whole process at once.
    Nothing is left to do by then: pictures are written, closed and synced (files.py),
    the progress line's timer thread has stopped (progress.py), and compgraph registers no
    exit handlers, so the standard streams are all there is to flush.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # `... | head`: the reader left, nothing went wrong
            pass
        except OSError:  # a full disk behind the stream: what it says is incomplete
            code = code or EXIT_FAILED
    os._exit(code)


if __name__ == "__main__":
    run()
