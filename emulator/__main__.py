"""`python -m emulator`: see emulator/cli.py."""

import sys

from emulator.cli import console_main

sys.exit(console_main())
