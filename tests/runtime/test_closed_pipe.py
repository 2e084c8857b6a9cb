"""A closed pipe (`certless ... | head`) ends the command quietly: no BrokenPipeError traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "argv",
    [
        [sys.executable, "-m", "certless", "doctor"],  # no settings here: doctor still prints its findings
        [sys.executable, "-m", "certless_ops", "plan", "--stack", "dev"],
    ],
    ids=["certless", "certless_ops"],
)
def test_closed_reader_ends_quietly(argv: list[str], tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte is written
    try:
        done = subprocess.run(
            argv,
            cwd=ROOT if argv[2] == "certless_ops" else tmp_path,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            env={k: v for k, v in os.environ.items() if not k.startswith(("AzureAd", "AZURE_", "IDENTITY_"))},
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
    assert done.returncode != 0  # the output was not delivered: not a success
