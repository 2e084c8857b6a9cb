"""The offline plan applies the Pulumi CLI's project-config rules before the program starts.

Rules from pulumi/pulumi sdk/go/common/workspace (mergeConfig, validateStackConfigValue): a declared
project key with neither `default` nor `value` is required; a declared `type` is enforced on the merged
value, scalars as their text; `secret: true` needs an encrypted stack value; yaml.v3 refuses duplicate keys.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from certless_ops.errors import UserError
from certless_ops.plan.config import load_stack_config

from .support import REPO, plan_of

PROGRAM = "import pulumi\n"


def _project(tmp: Path, config: str, stack: str) -> Path:
    (tmp / "Pulumi.yaml").write_text(f"name: demo\nruntime: python\nconfig:\n{config}")
    (tmp / "Pulumi.s.yaml").write_text(stack)
    (tmp / "__main__.py").write_text(PROGRAM)
    return tmp


def _error(tmp: Path, config: str, stack: str) -> str:
    with pytest.raises(UserError) as err:
        load_stack_config(_project(tmp, config, stack), "s")
    return str(err.value)


def test_declared_key_without_default_is_required(tmp_path: Path) -> None:
    decl = "  region:\n    type: string\n  shape:\n    description: an object\n  other: {default: x}\n"
    assert (
        _error(tmp_path, decl, "config: {}\n")
        == "Stack 's' is missing configuration values 'region' and 'shape'"
    )


def test_three_missing_keys_are_listed_like_the_cli(tmp_path: Path) -> None:
    decl = "  c: {type: string}\n  a: {type: string}\n  b: {description: x}\n"
    assert _error(tmp_path, decl, "") == "Stack 's' is missing configuration values 'a', 'b' and 'c'"


def test_default_or_stack_value_satisfies_the_rule(tmp_path: Path) -> None:
    decl = "  region:\n    type: string\n  shape:\n    default: {}\n"
    cfg = load_stack_config(_project(tmp_path, decl, "config:\n  demo:region: westeurope\n"), "s")
    assert cfg.values == {"demo:region": "westeurope", "demo:shape": {}}


def test_other_namespaces_are_not_required(tmp_path: Path) -> None:
    cfg = load_stack_config(_project(tmp_path, "  aws:region:\n    value: us-east-1\n", ""), "s")
    assert cfg.values == {"aws:region": "us-east-1"}


@pytest.mark.parametrize(
    ("decl", "value", "expected"),
    [
        ("type: string", "{a: 1}", "string"),
        ("type: integer", "twelve", "integer"),
        ("type: integer", "[1]", "integer"),
        ("type: boolean", "yes please", "boolean"),
        # Only the texts "true" and "false" (or a YAML boolean) pass a boolean key.
        ("type: boolean", "'True'", "boolean"),
        ("type: boolean", "'1'", "boolean"),
        ("type: boolean", "t", "boolean"),
        ("type: object", "text", "object"),
        ("type: object", "[1]", "object"),
        ("{type: array, items: {type: string}}", "[a, {b: 1}]", "array<string>"),
        ("{type: array, items: {type: string}}", "text", "array<string>"),
        (
            "{type: array, items: {type: array, items: {type: integer}}}",
            "[[1], [x]]",
            "array<array<integer>>",
        ),
    ],
)
def test_declared_type_is_enforced(tmp_path: Path, decl: str, value: str, expected: str) -> None:
    config = f"  k: {decl}\n" if decl.startswith("{") else f"  k:\n    {decl}\n"
    message = _error(tmp_path, config, f"config:\n  demo:k: {value}\n")
    assert message == f"Stack 's' with configuration key 'k' must be of type '{expected}'"


@pytest.mark.parametrize(
    ("decl", "value"),
    [
        ("type: string", "123"),
        ("type: integer", "-7"),
        ("type: integer", "'42'"),
        ("type: integer", "'+42'"),
        ("type: boolean", "True"),
        ("type: boolean", "'false'"),
        ("type: object", "{a: 1}"),
        ("{type: array, items: {type: integer}}", "[1, '2', 3.0]"),
        ("{type: array, items: {type: boolean}}", "[true, 'false']"),
    ],
)
def test_scalars_reach_the_type_check_as_text(tmp_path: Path, decl: str, value: str) -> None:
    load_stack_config(_project(tmp_path, f"  k:\n    {decl}\n", f"config:\n  demo:k: {value}\n"), "s")


@pytest.mark.parametrize(
    ("decl", "label"),
    [
        ("{type: string, default: {}}", "string"),
        # The default is checked as YAML typed it, not as text: 3 is no string, "3" is an integer.
        ("{type: string, default: 3}", "string"),
        ("{type: boolean, default: 'yes'}", "boolean"),
        ("{type: array, items: {type: integer}, default: [a]}", "array<integer>"),
    ],
)
def test_a_typed_default_is_checked_when_the_project_loads(tmp_path: Path, decl: str, label: str) -> None:
    # Even when the stack sets the key: the CLI checks Pulumi.yaml before it reads any stack.
    message = _error(tmp_path, f"  k: {decl}\n", "config:\n  demo:k: '7'\n")
    assert message.endswith(
        "Pulumi.yaml': The default value specified for configuration key 'k' is not of the expected"
        f" type '{label}'"
    )


@pytest.mark.parametrize("decl", ["{type: integer, default: '3'}", "{type: boolean, default: 'true'}"])
def test_a_typed_default_given_as_text_that_parses_is_accepted(tmp_path: Path, decl: str) -> None:
    load_stack_config(_project(tmp_path, f"  k: {decl}\n", ""), "s")


@pytest.mark.parametrize(
    ("decl", "expected"),
    [
        ("{default: 1, value: 2}", "project config 'k' cannot have both a 'default' and 'value' attribute"),
        (
            "{type: array}",
            "The configuration key 'k' declares an array but does not specify the underlying type via the"
            " 'items' attribute",
        ),
    ],
)
def test_project_declarations_are_checked_as_the_cli_loads_them(
    tmp_path: Path, decl: str, expected: str
) -> None:
    message = _error(tmp_path, f"  k: {decl}\n", "")
    assert message.endswith(f"Pulumi.yaml': {expected}") and "\n" not in message


@pytest.mark.parametrize(
    ("decl", "expected"),
    [
        (
            "{type: string, value: x}",
            "Configuration key 'aws:region' is not namespaced by the project and should not define a type",
        ),
        (
            "{default: x}",
            "Configuration key 'aws:region' is not namespaced by the project and should not define a default"
            " value. Did you mean to use the 'value' attribute instead of 'default'?",
        ),
        (
            "{description: the region}",
            "Configuration key 'aws:region' is namespaced and must provide an attribute 'value'",
        ),
    ],
)
def test_keys_of_other_namespaces_may_only_carry_a_value(tmp_path: Path, decl: str, expected: str) -> None:
    message = _error(tmp_path, f"  aws:region: {decl}\n", "")
    assert message.endswith(f"Pulumi.yaml': {expected}")


@pytest.mark.parametrize(
    ("decl", "shown"),
    [
        ("{type: string, required: true}", "'required'"),
        ("{type: number}", "'number'"),
        ("{type: array, items: {}}", "items"),
        ("{type: array, items: {type: array}}", "items"),
        ("{secret: 'yes'}", "secret"),
        ("null", "null"),
        ("1.5", "1.5"),
        ("{a: 1}", "'a'"),
    ],
)
def test_what_the_project_schema_refuses_is_refused_in_one_line(
    tmp_path: Path, decl: str, shown: str
) -> None:
    message = _error(tmp_path, f"  k: {decl}\n", "config:\n  demo:k: x\n")
    assert "Pulumi.yaml'" in message and "config key 'k'" in message and shown in message
    assert "\n" not in message


def test_an_empty_declaration_is_a_required_key(tmp_path: Path) -> None:
    assert _error(tmp_path, "  k: {}\n", "") == "Stack 's' is missing configuration value 'k'"


def test_a_secret_key_filled_from_its_default_is_refused_too(tmp_path: Path) -> None:
    message = _error(tmp_path, "  k: {type: string, secret: true, default: x}\n", "")
    assert message == "Stack 's' with configuration key 'k' must be encrypted as it's secret"


def test_a_secret_flag_without_a_type_is_not_checked_by_the_cli(tmp_path: Path) -> None:
    cfg = load_stack_config(_project(tmp_path, "  k: {secret: true}\n", "config:\n  demo:k: plain\n"), "s")
    assert cfg.values["demo:k"] == "plain"


def test_a_bare_and_a_namespaced_stack_key_for_the_same_setting_are_refused(tmp_path: Path) -> None:
    # The CLI namespaces `k` into a Go map beside `demo:k`: which value survives is left to chance.
    message = _error(tmp_path, "  k: {default: x}\n", "config:\n  k: one\n  demo:k: two\n")
    assert "'k' and 'demo:k'" in message and "\n" not in message


def test_secret_key_with_a_plain_value_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "  k:\n    type: string\n    secret: true\n", "config:\n  demo:k: hunter2\n")
    assert message == "Stack 's' with configuration key 'k' must be encrypted as it's secret"
    assert "hunter2" not in message


@pytest.mark.parametrize("where", ["stack", "project"])
def test_duplicate_keys_are_refused_as_yaml_v3_does(tmp_path: Path, where: str) -> None:
    stack = "config:\n  demo:a: 1\n  demo:b: 2\n  demo:a: 3\n"
    project = "  a: {default: 1}\n  a: {default: 2}\n"
    message = _error(
        tmp_path, project if where == "project" else "  a: {default: 1}\n", stack if where == "stack" else ""
    )
    assert "'demo:a' at line 4 is already defined at line 2" in message or "'a' at line" in message
    assert "expected each key once" in message and "\n" not in message


def test_identity_only_owner_stack_passes_the_shipped_project_file(tmp_path: Path) -> None:
    """The documented identity-only owner (docs/blue-green.md) leaves certless:workloads out."""
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPO / name, tmp_path / name)
    for package in ("program", "stackconfig", "components"):
        shutil.copytree(REPO / package, tmp_path / package)
    (tmp_path / "Pulumi.prod-identity.yaml").write_text(
        "config:\n"
        "  azure-native:location: westeurope\n"
        "  certless:tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47\n"
        "  certless:resourceGroupName: rg-certless-prod\n"
        "  certless:identities:\n"
        "    shared: {name: id-certless-shared-prod, protect: true}\n"
        "  certless:apps:\n"
        "    orders: {displayName: certless-orders-prod, protect: true, trustIdentities: [shared]}\n"
    )
    plan = plan_of(tmp_path, "prod-identity")
    types = {r["type"] for r in plan["resources"]}
    assert (
        "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential" in types
    )
