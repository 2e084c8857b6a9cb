"""``python -m certless token|doctor``: see certless/_cli.py."""

from __future__ import annotations

import sys

from certless._cli import main

if __name__ == "__main__":
    sys.exit(main())
