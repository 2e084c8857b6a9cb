"""plan --format svg|png: the trust chain drawn by Graphviz, read back as a user sees it (the SVG's text)."""

from __future__ import annotations

import copy
import os
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from certless_ops.errors import UserError
from certless_ops.plan.picture import APP, KIND_LABEL, UAMI
from certless_ops.plan.picture_dot import BROKEN, render_image

from .support import REPO, plan_of, run_cli

SVG = "{http://www.w3.org/2000/svg}"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# CI installs Graphviz (.ci/run): there a missing `dot` fails these tests instead of skipping them.
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"), reason="Graphviz's dot is not installed"
)


@pytest.fixture(scope="module")
def plans() -> dict[str, dict[str, Any]]:
    return {stack: plan_of(REPO, stack) for stack in ("dev", "prod")}


def _text(g: ET.Element) -> str:
    return " ".join("".join(t.itertext()) for t in g.iter(f"{SVG}text"))


def read_svg(data: bytes) -> tuple[dict[str, str], list[tuple[str, str, str, bool]]]:
    """Node labels by id, and edges as (from label, edge label, to label, drawn red and dashed)."""
    root = ET.fromstring(data)
    labels: dict[str, str] = {}
    raw_edges: list[tuple[str, str, str, bool]] = []
    for g in root.iter(f"{SVG}g"):
        title = g.findtext(f"{SVG}title") or ""
        if g.get("class") == "node":
            labels[title] = _text(g)
        elif g.get("class") == "edge":
            a, _, b = title.partition("->")
            path = g.find(f"{SVG}path")
            assert path is not None
            red = path.get("stroke") == BROKEN and bool(path.get("stroke-dasharray"))
            raw_edges.append((a, _text(g), b, red))
    return labels, [(labels[a], label, labels[b], red) for a, label, b, red in raw_edges]


def _names(plan: dict[str, Any], token: str, field: str) -> dict[str, str]:
    return {
        r["outputs"]["clientId"]: r["outputs"].get(field) or r["name"]
        for r in plan["resources"]
        if r["type"] == token
    }


@needs_dot
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_workload_is_drawn_from_its_compute_to_its_app_and_grants(
    plans: dict[str, dict[str, Any]], stack: str
) -> None:
    plan = plans[stack]
    labels, edges = read_svg(render_image(plan, "svg"))
    apps = _names(plan, APP, "displayName")
    identities = _names(plan, UAMI, "name")
    assert not [e for e in edges if e[3]], "a shipped stack has no broken link"
    following: dict[str, set[str]] = {}
    for a, _, b, _ in edges:
        following.setdefault(a, set()).add(b)

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in following.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    for name, w in plan["outputs"]["workloads"].items():
        compute = f"{KIND_LABEL[w['kind']]} {name}"
        assert compute in labels.values()
        downstream = reachable(compute)
        assert f"app {apps[w['appClientId']]}" in downstream, (name, downstream)
        if w.get("identityClientId") and w.get("aksMode") != "direct":
            assert f"identity {identities[w['identityClientId']]}" in downstream
        for grant in w.get("access") or []:
            role = grant.get("role") or grant.get("appRole")
            assert any(label.startswith(f"{role} on ") for label in downstream), (name, role)


@needs_dot
def test_the_prod_links_carry_what_trusts_what(plans: dict[str, dict[str, Any]]) -> None:
    _, edges = read_svg(render_image(plans["prod"], "svg"))
    identity, app = "identity id-certless-shared-prod", "app certless-orders-prod"
    assert ("Container App orders-api", "runs as", identity, False) in edges
    assert ("AKS pod orders-worker", "runs as", "service account orders/orders-worker", False) in edges
    assert (
        "service account orders/orders-worker",
        "FIC aks-aks-certless-prod-orders-orders-worker",
        identity,
        False,
    ) in edges
    assert (identity, "FIC uami-shared", app, False) in edges


@needs_dot
def test_a_fic_trusting_the_client_id_is_a_red_dashed_link(plans: dict[str, dict[str, Any]]) -> None:
    plan = copy.deepcopy(plans["prod"])
    w = plan["outputs"]["workloads"]["orders-api"]
    for fic in w["federatedCredentials"]:
        if fic["on"] == "app":
            fic["subject"] = w["identityClientId"]  # the classic mistake: client ID, not principal ID
    _, edges = read_svg(render_image(plan, "svg"))
    broken = [e for e in edges if e[3]]
    assert broken == [
        ("identity id-certless-shared-prod", "no FIC trusts it", "app certless-orders-prod", True)
    ]
    # The label of the broken link is red too, so it reads as broken in a grey-scale print as well.
    root = ET.fromstring(render_image(plan, "svg"))
    red_text = ["".join(t.itertext()) for t in root.iter(f"{SVG}text") if t.get("fill") == BROKEN]
    assert red_text == ["no FIC trusts it"]


@needs_dot
def test_names_are_text_in_the_image(plans: dict[str, dict[str, Any]]) -> None:
    plan = copy.deepcopy(plans["dev"])
    app = next(r for r in plan["resources"] if r["type"] == APP)
    app["outputs"]["displayName"] = 'evil"] <b>x</b> \\N \\l'
    labels, _ = read_svg(render_image(plan, "svg"))  # still well-formed XML
    assert 'app evil"] <b>x</b> \\N \\l' in labels.values()


@needs_dot
def test_png_is_a_png_of_a_plausible_size(plans: dict[str, dict[str, Any]]) -> None:
    data = render_image(plans["prod"], "png")
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])  # IHDR follows the signature
    assert 400 < width < 20000 and 100 < height < 5000, (width, height)
    assert 5_000 < len(data) < 5_000_000


@needs_dot
def test_the_cli_writes_a_png_file_and_an_svg_to_stdout(tmp_path: Path) -> None:
    target = tmp_path / "chain.png"
    proc = run_cli("--stack", "dev", "--format", "png", "--output", str(target))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and target.read_bytes().startswith(PNG_SIGNATURE)
    proc = run_cli("--stack", "dev", "--format", "svg")
    assert proc.returncode == 0, proc.stderr
    labels, _ = read_svg(proc.stdout.encode())
    assert "App Service orders-web" in labels.values()


def test_without_dot_one_line_says_what_to_install(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    for fmt in ("svg", "png"):
        proc = subprocess.run(
            [sys.executable, "-m", "certless_ops", "plan", "--stack", "dev", "--format", fmt,
             "--output", str(tmp_path / f"chain.{fmt}")],
            cwd=REPO, capture_output=True, text=True, check=False, timeout=120,
            env={**os.environ, "PATH": str(empty)},
        )  # fmt: skip
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1 and "apt-get install graphviz" in proc.stderr
        assert not (tmp_path / f"chain.{fmt}").exists()


def test_render_without_dot_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(UserError, match="apt-get install graphviz"):
        render_image({"resources": [], "outputs": {}}, "svg")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--format", "svg", "--json"], "both would go to stdout; expected --output FILE or --json FILE"),
        (["--output", "chain.svg"], "with --format tree: expected --format mermaid, svg or png"),
        (["--format", "svg", "--output", "/nonexistent/chain.svg"], "folder '/nonexistent' does not exist"),
        (["--format", "svg", "--output", "/tmp"], "--output '/tmp' is a folder"),
        (["--format", "gif"], "invalid choice: 'gif'"),
    ],
)
def test_bad_picture_options_are_one_line(args: list[str], expected: str) -> None:
    proc = run_cli("--stack", "dev", *args)
    assert proc.returncode == 2 and expected in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stdout == ""
