"""duplicate: the new colour's file, and each refusal with its message."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from certless_ops.__main__ import main
from certless_ops.bluegreen.duplicate import DuplicateRequest, prepare
from certless_ops.bluegreen.runbook import release_steps
from certless_ops.commands import duplicate as duplicate_command
from certless_ops.errors import UserError

from . import planbuilder as pb

PROD = """\
# Production: the orders service.
config:
  azure-native:location: westeurope
  certless:tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47
  certless:resourceGroupName: rg-orders  # where the compute goes
  # The shared identity layer: created here once.
  certless:identities:
    orders:
      protect: true
  certless:apps:
    orders:
      displayName: orders
      protect: true
  certless:workloads:
    orders:
      kind: appservice
      app: orders
      identity: orders
"""

GREEN_REFERENCING = """\
config:
  azure-native:location: westeurope
  certless:tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47
  certless:resourceGroupName: rg-orders
  certless:identityOwner:
    stack: acme/certless/prod
  certless:color: green
  certless:workloads:
    orders:
      kind: aks
      app: orders
      identity: orders
"""


class FakePlanner:
    """Answers plans from the plan builder and records what was planned with which stack outputs."""

    def __init__(self, owner: dict[str, Any] | None = None, colour: Any = None) -> None:
        self.owner = owner or pb.owner_plan()
        self.colour = colour or (lambda stack: pb.colour_plan(stack=stack))
        self.calls: list[tuple[str, str | None, dict[str, Any]]] = []
        self.subscriptions: list[str | None] = []

    def __call__(
        self, stack: str, text: str | None, outputs: Mapping[str, Mapping[str, Any]], subscription: str | None
    ) -> dict[str, Any]:
        self.calls.append((stack, text, dict(outputs)))
        self.subscriptions.append(subscription)
        if stack == self.owner["stack"]:
            return self.owner
        return self.colour(stack)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: certless\nruntime: python\n")
    (tmp_path / "Pulumi.prod.yaml").write_text(PROD)
    return tmp_path


def load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def test_duplicate_references_the_owner_and_keeps_comments(project: Path) -> None:
    planner = FakePlanner()
    result = prepare(DuplicateRequest(project, "prod", "green", org="acme"), planner)
    assert result.target == "prod-green"
    assert result.path == project / "Pulumi.prod-green.yaml"
    config = YAML(typ="safe").load(result.text)["config"]
    assert config["certless:color"] == "green"
    assert config["certless:identityOwner"] == {"stack": "acme/certless/prod"}
    assert "certless:identities" not in config and "certless:apps" not in config
    assert config["certless:workloads"] == load(project / "Pulumi.prod.yaml")["config"]["certless:workloads"]
    assert result.removed_keys == ["certless:identities", "certless:apps"]
    # the user's comments and order survive; a header names the source
    assert result.text.startswith("# Written by `./dev duplicate --from prod --color green`")
    assert "# Production: the orders service." in result.text
    assert "certless:resourceGroupName: rg-orders  # where the compute goes" in result.text
    keys = list(config)
    assert (
        keys.index("certless:identityOwner") < keys.index("certless:color") < keys.index("certless:workloads")
    )
    # the owner was planned first, then the new stack against the owner's outputs
    assert [c[0] for c in planner.calls] == ["prod", "prod-green"]
    assert planner.calls[1][1] == result.text
    assert planner.calls[1][2] == {"acme/certless/prod": pb.owner_plan()["outputs"]}
    # the colour is planned in the owner's subscription, where its cluster FICs go
    assert planner.subscriptions == [None, pb.SUB]
    assert not (project / "Pulumi.prod-green.yaml").exists()  # prepare never writes


def test_an_empty_identity_owner_placeholder_still_means_the_source_owns(project: Path) -> None:
    (project / "Pulumi.prod.yaml").write_text(
        PROD.replace("config:\n", "config:\n  certless:identityOwner: {}\n")
    )
    result = prepare(DuplicateRequest(project, "prod", "green", org="acme"), FakePlanner())
    config = YAML(typ="safe").load(result.text)["config"]
    assert config["certless:identityOwner"] == {"stack": "acme/certless/prod"}
    assert result.removed_keys == ["certless:identities", "certless:apps"]


def test_without_org_the_reference_is_the_bare_stack_name_with_a_note(project: Path) -> None:
    result = prepare(DuplicateRequest(project, "prod", "green"), FakePlanner())
    assert YAML(typ="safe").load(result.text)["config"]["certless:identityOwner"] == {"stack": "prod"}
    assert any("pass --org ORG" in n for n in result.notes)


def test_duplicate_of_a_colour_keeps_its_owner_reference_and_swaps_the_colour(project: Path) -> None:
    (project / "Pulumi.prod-green.yaml").write_text(GREEN_REFERENCING)
    planner = FakePlanner()
    result = prepare(DuplicateRequest(project, "prod-green", "blue"), planner)
    assert result.target == "prod-blue"
    config = YAML(typ="safe").load(result.text)["config"]
    assert config["certless:identityOwner"] == {"stack": "acme/certless/prod"}
    assert config["certless:color"] == "blue"
    assert result.removed_keys == []
    # owner (prod), the other colour still referencing it (prod-green), then the new one
    assert [c[0] for c in planner.calls] == ["prod", "prod-green", "prod-blue"]
    # prod-green owns nothing shared: the release ends by removing it whole.
    assert release_steps(result.release(None))[-2:] == [
        "pulumi destroy -s prod-green",
        "pulumi stack rm prod-green",
    ]


def test_command_writes_the_file_and_prints_the_next_steps(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(duplicate_command, "offline_planner", lambda _dir: FakePlanner())
    assert main(["duplicate", "--from", "prod", "--color", "green", "--project-dir", str(project)]) == 0
    out = capsys.readouterr().out
    assert "wrote Pulumi.prod-green.yaml from Pulumi.prod.yaml" in out
    # The runbook's steps (docs/blue-green.md, checked against it in test_runbook.py), numbered.
    steps = out[out.index("next:") :].splitlines()[1:]
    assert [line.split(". ", 1)[0].strip() for line in steps] == ["1", "2", "3", "4", "5", "6", "7"]
    assert steps[0].strip().startswith("1. edit what differs per colour in Pulumi.prod-green.yaml")
    assert steps[1].strip() == "2. ./dev bluegreen-check --blue prod --green prod-green"
    assert steps[2].strip() == "3. pulumi stack init prod-green"
    assert steps[6].strip() == "7. pulumi destroy -s prod --exclude-protected"
    assert load(project / "Pulumi.prod-green.yaml")["config"]["certless:color"] == "green"


def test_dry_run_prints_the_file_and_writes_nothing(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(duplicate_command, "offline_planner", lambda _dir: FakePlanner())
    args = ["duplicate", "--from", "prod", "--color", "green", "--org", "acme", "--dry-run"]
    args += ["--project-dir", str(project)]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert YAML(typ="safe").load(captured.out)["config"]["certless:color"] == "green"
    assert "would write Pulumi.prod-green.yaml" in captured.err
    assert "3. pulumi stack init acme/prod-green\n" in captured.err
    assert not (project / "Pulumi.prod-green.yaml").exists()


@pytest.mark.parametrize(
    ("secret", "named"),
    [
        ("  certless:dbPassword:\n    secure: v1:AAAABBBB\n", "certless:dbPassword"),
        (
            "  certless:workloads2:\n    orders:\n      token:\n        secure: v1:AAAA\n",
            "certless:workloads2.orders.token",
        ),
    ],
)
def test_refuses_encrypted_config_values_naming_them_and_the_pulumi_command(
    project: Path, secret: str, named: str
) -> None:
    (project / "Pulumi.prod.yaml").write_text(PROD + secret)
    with pytest.raises(UserError) as err:
        prepare(DuplicateRequest(project, "prod", "green", org="acme"), FakePlanner())
    message = str(err.value)
    assert f"stack 'prod' holds encrypted values ({named})" in message
    assert "`pulumi stack init acme/certless/prod-green --copy-config-from prod`" in message
    assert "v1:AAAA" not in message


def test_a_stack_file_with_only_its_own_key_material_is_duplicated_without_it(project: Path) -> None:
    # Every passphrase or Key Vault backed stack carries its own key material; with no secure: value
    # there is nothing encrypted to copy, and the new stack gets its own at `pulumi stack init`.
    (project / "Pulumi.prod.yaml").write_text(
        "secretsprovider: azurekeyvault://vault.vault.azure.net/keys/pulumi\nencryptedkey: AAAA\n"
        "encryptionsalt: v1:abc=\n" + PROD
    )
    result = prepare(DuplicateRequest(project, "prod", "green", org="acme"), FakePlanner())
    for key in ("secretsprovider", "encryptedkey", "encryptionsalt", "AAAA", "v1:abc="):
        assert key not in result.text
    assert (
        "prod's secrets provider is azurekeyvault://vault.vault.azure.net/keys/pulumi: create the new "
        "stack with the same one: `pulumi stack init acme/certless/prod-green --secrets-provider "
        "azurekeyvault://vault.vault.azure.net/keys/pulumi`"
    ) in result.notes
    steps = release_steps(result.release("acme"))
    assert (
        "pulumi stack init acme/prod-green --secrets-provider azurekeyvault://vault.vault.azure.net/keys/pulumi"
        in steps
    )


def test_refuses_an_existing_target_unless_forced(project: Path) -> None:
    (project / "Pulumi.prod-green.yaml").write_text("config: {}\n")
    with pytest.raises(UserError, match=r"stack 'prod-green' already exists: .*pass --force to overwrite it"):
        prepare(DuplicateRequest(project, "prod", "green"), FakePlanner())
    result = prepare(DuplicateRequest(project, "prod", "green", force=True), FakePlanner())
    assert result.target == "prod-green"


def test_refuses_more_than_twenty_fics_on_the_identity_explaining_the_count(project: Path) -> None:
    owner = pb.owner_plan(aks=True)
    base = pb.find(owner, "managedidentity:FederatedIdentityCredential")
    for i in range(19):
        extra = pb.copy_plan(base)
        extra["urn"] += f"-{i}"
        extra["id"] = pb.identity_fic_id(f"extra-{i}")
        extra["inputs"]["subject"] = extra["outputs"]["subject"] = f"system:serviceaccount:orders:sa{i}"
        owner["resources"].append(extra)
    planner = FakePlanner(owner=owner, colour=lambda stack: pb.colour_plan(stack=stack, aks=True))
    with pytest.raises(UserError) as err:
        prepare(DuplicateRequest(project, "prod", "green"), planner)
    message = str(err.value)
    assert message.startswith(
        "stack 'prod-green' would exceed the limit of 20 federated identity credentials"
    )
    assert f"identity {pb.IDENTITY_ID}: 21 FICs (20 from prod, 1 from prod-green (new))" in message
    assert "one FIC per AKS workload on the identity" in message


def test_aks_workload_whose_namespace_a_colour_creates_gets_its_own_namespace(project: Path) -> None:
    (project / "Pulumi.prod.yaml").write_text(
        PROD.replace(
            "      kind: appservice\n",
            "      kind: aks\n      aks:\n        clusterName: aks-shop\n        namespace: orders\n",
        )
    )
    result = prepare(DuplicateRequest(project, "prod", "green"), FakePlanner())
    # prod has no colour: it creates the namespace; destroying prod's compute would delete it with
    # green's pods in it, so green gets a namespace of its own, which it creates.
    assert "        namespace: orders-green\n        createNamespace: true\n" in result.text
    assert "namespace: orders\n" not in result.text
    assert (
        "workload 'orders': prod creates namespace 'orders' on cluster 'aks-shop'; prod-green runs in its "
        "own namespace 'orders-green' (aks.namespace, aks.createNamespace: true), so that destroying one "
        "colour's compute never deletes the other colour's pods"
    ) in result.notes


def test_no_namespace_note_when_no_stack_creates_it(project: Path) -> None:
    (project / "Pulumi.prod.yaml").write_text(
        PROD.replace(
            "      kind: appservice\n",
            "      kind: aks\n      aks:\n        clusterName: aks-shop\n        namespace: orders\n"
            "        createNamespace: false\n",
        )
    )
    result = prepare(DuplicateRequest(project, "prod", "green"), FakePlanner())
    assert not any("namespace" in n for n in result.notes)


def test_within_the_limit_reports_the_count(project: Path) -> None:
    planner = FakePlanner(
        owner=pb.owner_plan(aks=True), colour=lambda stack: pb.colour_plan(stack=stack, aks=True)
    )
    result = prepare(DuplicateRequest(project, "prod", "green"), planner)
    explained = [c.explain() for c in result.fic_counts]
    assert f"identity {pb.IDENTITY_ID}: 2 FICs (1 from prod, 1 from prod-green (new))" in explained
    assert f"app {pb.APP_OBJECT_ID}: 1 FIC (1 from prod)" in explained


@pytest.mark.parametrize("color", ["Green", "green_", "-green", "averyveryverylongcolour", ""])
def test_refuses_a_bad_colour_format(project: Path, color: str) -> None:
    with pytest.raises(UserError) as err:
        prepare(DuplicateRequest(project, "prod", color), FakePlanner())
    assert str(err.value) == (
        f"--color {color!r} is not a valid colour: expected a lowercase DNS label of 1-12 characters "
        "(letters, digits, '-'), like blue or green"
    )


def test_refuses_the_colour_the_source_already_has(project: Path) -> None:
    (project / "Pulumi.prod-green.yaml").write_text(GREEN_REFERENCING)
    with pytest.raises(UserError) as err:
        prepare(DuplicateRequest(project, "prod-green", "green", force=True), FakePlanner())
    assert str(err.value) == "stack 'prod-green' already has colour 'green'; expected another colour"


def test_refuses_a_source_stack_that_does_not_exist(project: Path) -> None:
    with pytest.raises(UserError) as err:
        prepare(DuplicateRequest(project, "prdo", "green"), FakePlanner())
    assert str(err.value) == (
        f"stack 'prdo' does not exist: no Pulumi.prdo.yaml in {project} (stacks found there: prod)"
    )


def test_refuses_a_reference_to_an_owner_stack_that_is_not_there(project: Path) -> None:
    (project / "Pulumi.prod-green.yaml").write_text(
        GREEN_REFERENCING.replace("acme/certless/prod", "acme/certless/shared")
    )
    with pytest.raises(UserError) as err:
        prepare(DuplicateRequest(project, "prod-green", "blue"), FakePlanner())
    assert str(err.value).startswith(
        "the owner stack 'acme/certless/shared' named in certless:identityOwner does not exist here: "
        "no Pulumi.shared.yaml in"
    )


def test_refuses_when_the_owner_does_not_export_what_the_colour_reads(project: Path) -> None:
    def colour(stack: str) -> dict[str, Any]:
        raise UserError("the program failed: Required output 'identities' does not exist on stack 'prod'")

    with pytest.raises(UserError) as err:
        prepare(DuplicateRequest(project, "prod", "green"), FakePlanner(colour=colour))
    assert str(err.value) == (
        "stack 'prod-green' cannot be planned against the outputs of its owner stack 'prod': the program "
        "failed: Required output 'identities' does not exist on stack 'prod'"
    )


def test_colour_rule_matches_the_program() -> None:
    from certless_ops.bluegreen.colors import COLOR_PATTERN
    from stackconfig.rules import COLOR

    assert COLOR_PATTERN.pattern == COLOR.pattern
