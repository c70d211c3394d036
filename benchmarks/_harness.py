"""What the learning benchmarks share: a timed call that lets idle thread pools park
first, a duration format, and a printer that also collects Markdown lines."""

from __future__ import annotations

import time

import jax

#: Seconds slept before each timed call. XLA's and OpenBLAS's worker threads spin for
#: ~0.1 s after a call; with 50 ms, whichever library ran second was slowed up to 10x.
PAUSE = 0.25


def timed(fn):
    """(seconds, result) of `fn()`, its result blocked until ready."""
    time.sleep(PAUSE)
    t0 = time.perf_counter()
    out = fn()
    jax.block_until_ready(out)
    return time.perf_counter() - t0, out


def fmt(seconds):
    return f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


class Out:
    """Print, and collect the lines for --markdown."""

    def __init__(self):
        self.lines = []

    def __call__(self, text=""):
        print(text, flush=True)
        self.lines.append(text)

    def finish(self, path):
        """Print the load average, then write every line to the Markdown file `path`
        (none: nothing written)."""
        import os

        self(f"\nLoad average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}.")
        if path:
            with open(path, "w") as fh:
                fh.write("\n".join(self.lines) + "\n")


class tee:  # noqa: N801 - used as a context manager, like contextlib's
    """Copy everything printed inside the block into the Markdown file `path` (if any) at
    its end; `fenced` writes it as a preformatted block (for plain-text reports)."""

    def __init__(self, path, fenced=False):
        self.path, self.fenced, self.parts = path, fenced, []

    def __enter__(self):
        import sys

        self._stdout = sys.stdout
        outer, parts = sys.stdout, self.parts

        class _Copy:
            def write(self, text):
                parts.append(text)
                return outer.write(text)

            def flush(self):
                outer.flush()

        sys.stdout = _Copy()
        return self

    def __exit__(self, *exc):
        import sys

        sys.stdout = self._stdout
        if self.path:
            text = "".join(self.parts).rstrip("\n")
            if self.fenced:
                text = f"```text\n{text}\n```"
            with open(self.path, "w") as fh:
                fh.write(text + "\n")
        return False
