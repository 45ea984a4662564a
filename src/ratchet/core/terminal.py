"""What ratchet prints on a terminal.

Text that comes from a user or a benchmark (a failure's reason, a parameter's name, an
error message, a path) is never read as Rich markup: every console is made here with
markup off, and a style is given as a ``(text, style)`` piece of a line, never written
into the text. ``[/foo]`` in a benchmark's error prints as ``[/foo]``.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

Piece = str | tuple[str, str]


def console(*, stderr: bool = False, quiet: bool = False,
            soft_wrap: bool | None = None) -> Console:
    """A console that prints text as it is (no markup, no highlighting); on stderr, long
    lines stay whole."""
    return Console(stderr=stderr, quiet=quiet, markup=False, highlight=False,
                   soft_wrap=stderr if soft_wrap is None else soft_wrap)


def line(*pieces: Piece) -> Text:
    """A line of plain pieces and ``(text, style)`` pieces."""
    return Text.assemble(*pieces)


def error(message: str) -> Text:
    """``error: MESSAGE``, the label in bold red."""
    return line(("error:", "bold red"), " ", message)
