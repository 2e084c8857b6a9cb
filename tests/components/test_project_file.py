"""Pulumi.yaml and the engine's config hand-over agree with what the program reads."""

from __future__ import annotations

import json

import pytest
import yaml
from component_fakes import ROOT, stack_config
from pulumi.runtime import config as runtime_config

from stackconfig import ConfigError, load, read_pulumi_config
from stackconfig.loader import KEYS

PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def test_project_declares_every_key_the_program_reads_with_a_description() -> None:
    assert PROJECT["name"] == "certless"
    assert PROJECT["runtime"] == {"name": "python", "options": {"toolchain": "uv", "virtualenv": ".venv"}}
    declared = PROJECT["config"]
    assert set(declared) == set(KEYS)
    for key, decl in declared.items():
        assert decl.get("description"), key
    # The CLI enforces a declared type (string, integer, boolean, array, object) on the stack value; the
    # structured keys stay untyped so that the program's own messages, not the CLI's, explain them.
    assert {k for k, d in declared.items() if "type" not in d} == {
        "identities",
        "apps",
        "identityOwner",
        "workloads",
    }
    assert {d["type"] for d in declared.values() if "type" in d} == {"string"}


def test_optional_keys_have_defaults_the_program_reads_as_unset() -> None:
    defaults = {k: d["default"] for k, d in PROJECT["config"].items() if "default" in d}
    assert set(defaults) == {"cloud", "color", "identities", "apps", "identityOwner", "workloads"}
    # The CLI refuses a stack that leaves out a declared key without a default: only the keys every
    # stack needs stay required (an identity-only owner has no workloads).
    required = {k for k, d in PROJECT["config"].items() if "default" not in d}
    assert required == {"tenantId", "resourceGroupName"}
    # With every default applied, the shipped stacks still load (empty objects and "" mean "not set").
    for stack in ("dev", "prod"):
        assert load(stack_config(stack), set(), stack).stack == stack


def test_engine_config_from_the_environment_is_read_and_secrets_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime_config.set_all_config({}, [])
    cfg = stack_config("dev")
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(cfg))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps(["certless:tenantId"]))
    raw, secret = read_pulumi_config()
    assert raw["certless:resourceGroupName"] == "rg-certless-dev"
    assert secret == {"certless:tenantId"}
    with pytest.raises(ConfigError, match=r"^config certless:tenantId: is a secret value") as err:
        load(raw, secret, "dev")
    assert cfg["certless:tenantId"] not in str(err.value)
