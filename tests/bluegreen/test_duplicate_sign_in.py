"""duplicate of a stack whose apps sign users in: the new colour's hosts become redirect URIs of the owner's
app (the owner holds the registration), written into the owner's stack file with its comments kept, so the
runbook's `pulumi up` of the owner registers them before the colour deploys."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from certless_ops.__main__ import main
from certless_ops.bluegreen.duplicate import DuplicateRequest, prepare
from certless_ops.bluegreen.planning import plan_stack
from certless_ops.commands import duplicate as duplicate_command

REPO = Path(__file__).resolve().parents[2]
WEB_STACK = REPO / "tests" / "e2e" / "stacks" / "Pulumi.web.yaml"
GREEN = "https://certless-orders-web-green.azurewebsites.net"
BLUE = "https://certless-orders-web-blue.azurewebsites.net"


def _owner_text(easy_auth: bool) -> str:
    text = WEB_STACK.read_text().replace("# yaml-language-server: $schema=../../../schema/", "# schema: ")
    if easy_auth:
        text = text.replace(
            "        name: certless-orders-web\n",
            "        name: certless-orders-web\n        authentication: {}\n",
        )
    return text


class ProjectPlanner:
    """The offline plan tool on the stack files of a folder (the program is the repository's)."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.planned: list[str] = []

    def __call__(
        self, stack: str, text: str | None, outputs: Mapping[str, Mapping[str, Any]], subscription: str | None
    ) -> dict[str, Any]:
        self.planned.append(stack)
        settings = text if text is not None else (self.project / f"Pulumi.{stack}.yaml").read_text()
        return plan_stack(REPO, stack, text=settings, outputs=outputs, subscription=subscription)


@pytest.fixture(params=[False, True], ids=["sign-in", "easy-auth"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text((REPO / "Pulumi.yaml").read_text())
    (tmp_path / "__main__.py").symlink_to(REPO / "__main__.py")  # a project: its file and its program
    (tmp_path / "Pulumi.prod.yaml").write_text(_owner_text(easy_auth=request.param))
    return tmp_path


def redirect_uris(path: Path) -> list[str]:
    config = YAML(typ="safe").load(path.read_text())["config"]
    return list(config["certless:apps"]["orders-web"]["web"]["redirectUris"])


def test_the_colours_hosts_are_added_to_the_owners_app_and_the_colour_plans(project: Path) -> None:
    easy_auth = "authentication" in (project / "Pulumi.prod.yaml").read_text()
    planner = ProjectPlanner(project)
    result = prepare(DuplicateRequest(project, "prod", "green", org="acme"), planner)
    added = [f"{GREEN}/signin-oidc"] + ([f"{GREEN}/.auth/login/aad/callback"] if easy_auth else [])
    assert result.owner_update is not None
    assert sorted(result.owner_update.added) == sorted(added)
    assert result.owner_update.path == project / "Pulumi.prod.yaml"
    text = result.owner_update.text
    assert "# web: a web app signing users in" in text  # the owner's comments are kept
    owner_file = project / "Pulumi.prod-owner.yaml"
    owner_file.write_text(text)
    uris = redirect_uris(owner_file)
    assert uris[: len(uris) - len(added)] == redirect_uris(project / "Pulumi.prod.yaml")
    assert sorted(uris[len(uris) - len(added) :]) == sorted(added)
    # The new colour was planned against the owner as it will be after `pulumi up -s prod`.
    assert planner.planned[-1] == "prod-green"
    assert not (project / "Pulumi.prod-green.yaml").exists()


def test_the_command_writes_both_files_and_puts_the_owners_up_before_the_colours(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(duplicate_command, "offline_planner", lambda _dir: ProjectPlanner(project))
    before = redirect_uris(project / "Pulumi.prod.yaml")
    args = ["duplicate", "--from", "prod", "--color", "green", "--project-dir", str(project), "--json", "-"]
    assert main(args) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    after = redirect_uris(project / "Pulumi.prod.yaml")
    assert after[: len(before)] == before and f"{GREEN}/signin-oidc" in after[len(before) :]
    assert document["ownerUpdate"]["stack"] == "prod"
    assert sorted(document["ownerUpdate"]["added"]) == sorted(after[len(before) :])
    assert (project / "Pulumi.prod-green.yaml").is_file()
    steps: list[str] = document["next"]
    up_owner = next(i for i, s in enumerate(steps) if s.startswith("pulumi up -s prod "))
    up_colour = next(i for i, s in enumerate(steps) if "pulumi up -s prod-green" in s)
    assert up_owner < up_colour
    assert "added" in captured.err and "Pulumi.prod.yaml" in captured.err


def test_a_dry_run_writes_neither_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(duplicate_command, "offline_planner", lambda _dir: ProjectPlanner(project))
    before = (project / "Pulumi.prod.yaml").read_text()
    assert (
        main(["duplicate", "--from", "prod", "--color", "green", "--dry-run", "--project-dir", str(project)])
        == 0
    )
    err = capsys.readouterr().err
    assert (project / "Pulumi.prod.yaml").read_text() == before
    assert not (project / "Pulumi.prod-green.yaml").exists()
    assert f"would add {GREEN}/signin-oidc" in err


def test_the_next_colour_registers_its_hosts_on_the_owner_too(project: Path) -> None:
    first = prepare(DuplicateRequest(project, "prod", "green"), ProjectPlanner(project))
    assert first.owner_update is not None
    first.owner_update.path.write_text(first.owner_update.text)
    first.path.write_text(first.text)
    listed = redirect_uris(project / "Pulumi.prod.yaml")

    again = prepare(DuplicateRequest(project, "prod-green", "blue"), ProjectPlanner(project))
    assert again.owner_update is not None
    assert again.owner_update.path == project / "Pulumi.prod.yaml"
    assert all(uri.startswith(BLUE) for uri in again.owner_update.added)
    # Green's, already there, are not added twice.
    again.owner_update.path.write_text(again.owner_update.text)
    uris = redirect_uris(project / "Pulumi.prod.yaml")
    assert uris[: len(listed)] == listed and len(set(uris)) == len(uris)


def test_nothing_changes_on_the_owner_when_it_lists_the_colours_hosts_already(project: Path) -> None:
    path = project / "Pulumi.prod.yaml"
    text = path.read_text().replace(
        "          - http://localhost:5000/signin-oidc\n",
        "          - http://localhost:5000/signin-oidc\n"
        f"          - {GREEN}/signin-oidc\n          - {GREEN}/.auth/login/aad/callback\n",
    )
    path.write_text(text)
    result = prepare(DuplicateRequest(project, "prod", "green"), ProjectPlanner(project))
    assert result.owner_update is None
