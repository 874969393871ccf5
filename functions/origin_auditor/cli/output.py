"""What the CLI says and the status it exits with: one-line messages on stderr (``say``), the
report on stdout (``_emit``: wrapped and coloured on a terminal, plain in a pipe), progress on a
terminal only."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Mapping
from typing import TextIO

from ..model import AuditReport
from ..present.text import terminal
from ..report import render, render_text, worst_at_or_above

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or unreadable input: exit 2 with this one-line message."""


def say(stream: TextIO, message: str) -> None:
    """One message line on ``stream`` (stderr), outside text in it escaped (``terminal``)."""
    stream.write(terminal(message) + "\n")


def _progress_printer(stream: TextIO) -> Callable[[int, int], None] | None:
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        stream.write(f"\rprobed {done}/{total} origin(s)")
        if done == total:
            stream.write("\n")
        stream.flush()
    return show



def terminal_style(out: TextIO, env: Mapping[str, str]) -> tuple[int | None, bool]:
    """(width, colour) for the text report on ``out``: wrapped to the terminal's width
    (``COLUMNS`` first, as ``shutil.get_terminal_size``) and coloured unless ``NO_COLOR`` is set
    to anything but "" (https://no-color.org) or ``TERM=dumb``; a pipe or file gets neither."""
    try:
        tty = out.isatty()
    except (OSError, ValueError):
        tty = False
    if not tty:
        return None, False
    width = 0
    with contextlib.suppress(ValueError):
        width = int(env.get("COLUMNS", ""))
    if width <= 0:
        try:
            width = os.get_terminal_size(out.fileno()).columns
        except (OSError, ValueError, io.UnsupportedOperation):
            width = 80
    colour = not env.get("NO_COLOR") and env.get("TERM") != "dumb"
    return width or 80, colour


def _emit(report: AuditReport, fmt: str, fail_on: str, out: TextIO) -> int:
    if fmt == "text":
        width, colour = terminal_style(out, os.environ)
        out.write(render_text(report, width=width, colour=colour))
    else:
        out.write(render(report, fmt))
    out.write("\n")
    return EXIT_FINDINGS if worst_at_or_above(report.results, fail_on) else EXIT_OK
