"""The docs speak of one entry point: `./dev <command>` (README's rule), `certless-ops <command>` once set up.

`python -m certless_ops ...` still works but is retired from the docs, and so is `certless_ops <command>`,
the package's name used as if it were a command.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# What users are told to type: the docs, the CI workflow, and the messages that name a command.
TOLD = [*DOCS, ROOT / ".github" / "workflows" / "infrastructure.yml"]
RETIRED = re.compile(r"python -m certless_ops(?![.\w])|`certless_ops [a-z]")


@pytest.mark.parametrize("path", TOLD, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_retired_spelling_of_the_ops_commands(path: Path) -> None:
    found = [
        f"{path.name}:{number}: {line.strip()[:80]}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if RETIRED.search(line)
    ]
    assert not found, "use ./dev <command> (or certless-ops <command> after setup):\n" + "\n".join(found)


def test_every_dev_command_the_docs_name_exists() -> None:
    from certless_ops.__main__ import _command_modules

    known = {m.replace("_", "-") for m in _command_modules()} | {"setup", "check", "test", "help"}
    named = {
        (path.name, m.group(1))
        for path in DOCS
        for m in re.finditer(r"\./dev ([a-z][a-z-]*)", path.read_text(encoding="utf-8"))
    }
    assert named, "the docs name no ./dev command: the pattern is wrong"
    assert {(doc, c) for doc, c in named if c not in known} == set()
