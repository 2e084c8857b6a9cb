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
        # The reader went away (`certless token ... | head`): the convention of every entry point of the
        # project (certless_ops/__main__.py reader_left; the runtime cannot import it): no traceback, and
        # 141 = 128 + SIGPIPE, what a shell reports for a tool a closed pipe stopped. Point stdout at
        # devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code


if __name__ == "__main__":
    sys.exit(main())
