"""One way to make the rich console, so every command honours terminals, CI logs and NO_COLOR alike."""

from __future__ import annotations

import os
from typing import Any

from rich.console import Console

# Without a terminal and without COLUMNS, rich assumes 80 columns and folds issuer URLs and messages
# mid-word; CI logs and `| less` readers want whole lines instead.
LOG_WIDTH = 160


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
