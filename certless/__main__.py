"""``python -m certless token|doctor``: see certless/_cli.py."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from certless._cli import main as cli_main

    try:
        try:
            code = cli_main(argv)
        except SystemExit as exc:  # argparse's --help/--version and usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`certless token ... | head`): end quietly, as Unix tools do. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by a closed pipe
    return code


if __name__ == "__main__":
    sys.exit(main())
