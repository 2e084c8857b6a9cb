"""README says how many policies the pack holds; a new policy must not make it wrong."""

from __future__ import annotations

import re
from pathlib import Path

from policy.rules import ALL_POLICIES

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_counts_the_policies_the_pack_registers() -> None:
    found = re.search(r"CrossGuard policy pack \((\d+) policies\)", README.read_text())
    assert found is not None
    assert int(found.group(1)) == len(ALL_POLICIES)
