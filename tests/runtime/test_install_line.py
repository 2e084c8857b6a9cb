"""One install line everywhere: every `pip install` of certless in the docs names the same source."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "git+https://github.com/certless/certless"
DOCS = [ROOT / "README.md", ROOT / "docs" / "runtime.md", ROOT / "certless" / "README.md"]
INSTALL = re.compile(r"pip install\s+(['\"]?)(certless[^'\"`\s]*)(.*?)\1", re.S)


def test_every_install_of_certless_uses_the_one_source() -> None:
    seen: dict[str, list[str]] = {}
    for doc in DOCS:
        for match in INSTALL.finditer(doc.read_text()):
            seen.setdefault(str(doc.relative_to(ROOT)), []).append((match.group(2) + match.group(3)).strip())
    assert set(seen) == {str(d.relative_to(ROOT)) for d in DOCS}  # each doc tells how to install
    lines = [line for found in seen.values() for line in found]
    for line in lines:
        assert re.fullmatch(r"certless(\[web\])? @ " + re.escape(SOURCE), line), line


def test_the_readme_names_every_dependency_the_package_installs() -> None:
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0] for spec in declared}
    readme = (ROOT / "README.md").read_text()
    comment = re.search(r'pip install "certless @ [^"]+"\s+# depends on ([^\n]+)', readme)
    assert comment is not None
    assert set(re.findall(r"[a-z][a-z0-9-]+", comment.group(1))) - {"and", "only", "on"} == names
