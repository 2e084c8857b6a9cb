"""One way to make the rich console, so every command honours terminals, CI logs and NO_COLOR alike."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console
from rich.panel import Panel

# Without a terminal (a CI log, `| grep`, `> file`) and without COLUMNS, rich lays everything out for
# 80 columns and folds issuer URLs and policy messages mid-word. There a line is never folded nor
# cropped: no line of ours comes near this width, and nothing stretches to it (tables take the width of
# their content, panels too: see panel()).
LOG_WIDTH = 10_000


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich's own answer is exit 1, which a check command also uses for "a check failed". Let the
        # error reach the entry point instead, which ends every command alike (exit 141, see __main__.py).
        self.quiet = True
        raise BrokenPipeError


def make_console(*, stderr: bool = False, **options: Any) -> Console:
    console = _Console(stderr=stderr, **options)  # rich itself honours NO_COLOR and TERM=dumb
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = LOG_WIDTH
    return console


def panel(console: Console, body: Any, *, title: str) -> Panel:
    """A titled box: as wide as the terminal on one, as wide as its content in a log."""
    return Panel(body, title=title, title_align="left", expand=console.is_terminal)
