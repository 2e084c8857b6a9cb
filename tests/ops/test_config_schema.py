"""The stack-file JSON Schema: current, accepts the shipped stacks, flags what the program refuses."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from certless_ops.errors import UserError
from certless_ops.plan.config import load_stack_config
from stackconfig import ConfigError, load
from stackconfig.json_schema import SCHEMA_FILE, render

from .support import REPO

STACK_FILES = [
    REPO / "Pulumi.dev.yaml",
    REPO / "Pulumi.prod.yaml",
    *sorted((REPO / "tests" / "e2e" / "stacks").glob("Pulumi.*.yaml")),
    *sorted((REPO / "tests" / "ops" / "fixtures" / "stacks").glob("Pulumi.*.yaml")),
]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_committed_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render(), (
        "schema/certless-stack.schema.json is out of date: ./dev config-schema --write"
    )


def test_check_command_reports_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "schema.json"
    stale.write_text("{}\n")

    def check(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "certless_ops", "config-schema", "--check", "--path", str(path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )

    assert check(stale).returncode == 1
    assert check(SCHEMA_FILE).returncode == 0


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: p.name)
def test_shipped_stack_files_are_valid_and_name_the_schema(
    path: Path, validator: jsonschema.Draft202012Validator
) -> None:
    text = path.read_text(encoding="utf-8")
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(yaml.safe_load(text))]
    assert errors == []
    if path.parent == REPO:
        assert text.startswith("# yaml-language-server: $schema=./schema/certless-stack.schema.json\n")


def _prod() -> dict[str, Any]:
    return yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text(encoding="utf-8"))


def _set(doc: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    node = doc["config"]
    for part in path[:-1]:
        node = node[part]
    if value is None:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


W = ["certless:workloads"]
MISTAKES = [
    (["certless:colour"], "green"),
    (["certless:tenantId"], "contoso.onmicrosoft.com"),
    (["certless:tenantId"], None),
    (["certless:cloud"], "AzureGermany"),
    ([*W, "orders-api", "kind"], "staticwebapp"),
    ([*W, "orders-api", "containerApp", "targetPort"], 70000),
    ([*W, "orders-api", "containerApp", "imagee"], "x"),
    ([*W, "orders-api", "containerApp", "image"], None),
    ([*W, "orders-api", "containerApp", "name"], "Orders_API"),
    ([*W, "orders-worker", "aks", "mode"], "pod-identity"),
    ([*W, "orders-worker", "aks", "replicas"], "many"),
    ([*W, "orders-jobs", "functionApp", "sku"], "Y1"),
    (["certless:identities", "shared", "protect"], "yes"),
    (["certless:apps", "orders", "owners"], ["not-a-guid"]),
    ([*W, "Orders"], {"kind": "aks"}),
]


@pytest.mark.parametrize(("path", "value"), MISTAKES, ids=[f"{'.'.join(p)}={v!r}" for p, v in MISTAKES])
def test_the_editor_flags_what_the_program_refuses(
    path: list[str], value: Any, validator: jsonschema.Draft202012Validator, tmp_path: Path
) -> None:
    doc = _set(_prod(), path, value)
    assert list(validator.iter_errors(doc)), f"the schema accepts {path}={value!r}"
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    # The program refuses it too: the CLI's own rules (a required key) or the config model.
    with pytest.raises((UserError, ConfigError)):
        config = load_stack_config(REPO, "prod", stack_file)
        raw = {k: json.loads(v) if v[:1] in ("{", "[") else v for k, v in config.wire.items()}
        load(raw, set(config.secret_keys), "prod")
