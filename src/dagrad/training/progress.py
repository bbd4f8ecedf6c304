"""A hand-written progress bar for one epoch: loss, samples/s and ETA, on stderr.

On a terminal the bar redraws itself in place (at most ten times a second); elsewhere (a log
file, CI) it prints a plain line every ``plain_interval`` seconds and one when the epoch ends.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from ..i18n import _

__all__ = ["ProgressBar", "format_seconds"]


def format_seconds(s: float) -> str:
    """Seconds as m:ss (or h:mm:ss)."""
    s = max(0, int(round(s)))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class ProgressBar:
    """``update(done, loss, samples)`` after each batch, ``close()`` at the end of the epoch."""

    def __init__(self, total: int, desc: str = "", stream: TextIO | None = None,
                 enabled: bool = True, tty: bool | None = None, min_interval: float = 0.1,
                 plain_interval: float = 10.0):
        self.total = max(int(total), 1)
        self.desc = desc
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        self.min_interval = min_interval
        self.plain_interval = plain_interval
        self.start = time.perf_counter()
        self._last = 0.0 if tty else self.start
        self.done = 0
        self.loss: float | None = None
        self.samples = 0
        self._closed = False

    def _line(self, final: bool) -> str:
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        rate = self.samples / elapsed
        parts = [self.desc] if self.desc else []
        if self.tty:
            cols = shutil.get_terminal_size((80, 20)).columns
            width = max(10, min(30, cols - 70))
            filled = int(width * self.done / self.total)
            parts.append("[" + "#" * filled + "." * (width - filled) + "]")
        parts.append(f"{self.done}/{self.total}")
        if self.loss is not None:
            parts.append(_("loss {loss}").format(loss=f"{self.loss:.4f}"))
        parts.append(_("{rate} samples/s").format(rate=f"{rate:,.0f}"))
        if final:
            parts.append(f"{format_seconds(elapsed)}")
        else:
            eta = elapsed / max(self.done, 1) * (self.total - self.done)
            parts.append(_("ETA {time}").format(time=format_seconds(eta)))
        return "  ".join(parts)

    def update(self, done: int, loss: float | None = None, samples: int | None = None) -> None:
        """Record progress (batches done, running loss, samples seen) and redraw if due."""
        self.done = done
        if loss is not None:
            self.loss = loss
        if samples is not None:
            self.samples = samples
        if not self.enabled:
            return
        now = time.perf_counter()
        if self.tty:
            if now - self._last >= self.min_interval or done >= self.total:
                self._last = now
                self.stream.write("\r" + self._line(False) + "\033[K")
                self.stream.flush()
        elif now - self._last >= self.plain_interval and done < self.total:
            self._last = now
            self.stream.write(self._line(False) + "\n")
            self.stream.flush()

    def close(self) -> None:
        """Draw the final state (and end the line on a terminal)."""
        if self._closed or not self.enabled:
            self._closed = True
            return
        self._closed = True
        prefix = "\r" if self.tty else ""
        suffix = "\033[K\n" if self.tty else "\n"
        self.stream.write(prefix + self._line(True) + suffix)
        self.stream.flush()
