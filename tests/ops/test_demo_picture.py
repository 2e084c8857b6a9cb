"""The demo's picture of its stack: an SVG when Graphviz is there, else Mermaid in Markdown, kept where
the user looks (beside --json FILE, else the current folder) after the demo's temp dir is gone."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from certless_ops.demo.picture import picture_folder, picture_name, write_picture
from certless_ops.errors import UserError
from certless_ops.plan.picture import mermaid

from .support import REPO, plan_of

SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"), reason="Graphviz's dot is not installed"
)


@pytest.fixture(scope="module")
def dev_plan() -> dict[str, Any]:
    return plan_of(REPO, "dev")


@needs_dot
def test_with_graphviz_the_picture_is_an_svg_of_the_stacks_chain(
    dev_plan: dict[str, Any], tmp_path: Path
) -> None:
    drawn = write_picture(dev_plan, "dev", tmp_path)
    assert (drawn.kind, drawn.path) == ("svg", tmp_path / "certless-demo-dev.svg")
    root = ET.fromstring(drawn.path.read_bytes())
    nodes = [" ".join(g.itertext()) for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    assert any("App Service orders-web" in n for n in nodes), nodes
    assert any("app certless-orders-dev" in n for n in nodes), nodes
    assert [p.name for p in tmp_path.iterdir()] == ["certless-demo-dev.svg"]  # no temp file left


def test_without_graphviz_the_picture_is_mermaid_in_markdown(
    dev_plan: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no `dot` anywhere
    drawn = write_picture(dev_plan, "dev", tmp_path)
    assert (drawn.kind, drawn.path.name) == ("mermaid", "certless-demo-dev.md")
    text = drawn.path.read_text()
    assert text.startswith("# Trust chain of stack dev\n\n```mermaid\nflowchart LR\n")
    assert text.endswith("\n```\n")
    assert mermaid(dev_plan).strip() in text


def test_the_picture_goes_beside_the_json_file_else_into_the_current_folder(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    assert picture_folder("out/demo.json", tmp_path) == tmp_path / "out"
    assert picture_folder(str(tmp_path / "out" / "demo.json"), Path("/")) == tmp_path / "out"
    assert picture_folder("-", tmp_path) == tmp_path  # the JSON goes to stdout
    assert picture_folder(None, tmp_path) == tmp_path
    with pytest.raises(UserError, match=r"^--json 'nope/demo.json': folder '.*/nope' does not exist$"):
        picture_folder("nope/demo.json", tmp_path)


def test_a_stack_named_with_slashes_gives_one_file_name() -> None:
    assert picture_name("org/certless/prod", "svg") == "certless-demo-org-certless-prod.svg"
    assert picture_name("../..", "mermaid") == "certless-demo-stack.md"
