"""`python -m emulator`: see emulator/cli.py."""

import sys

from emulator.cli import main

sys.exit(main())
