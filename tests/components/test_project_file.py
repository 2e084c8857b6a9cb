"""Pulumi.yaml and the engine's config hand-over agree with what the program reads."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from component_fakes import ROOT, stack_config
from main_runner import run_main
from pulumi.runtime import config as runtime_config
from pulumi_schemas import project_schema, validator

from stackconfig import ConfigError, load, read_pulumi_config
from stackconfig.loader import KEYS, LOCATION_KEY, NS

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


# What `pulumi new` reads of a template entry: apitype.ProjectTemplateConfigValue in pulumi/pulumi.
TEMPLATE_VALUE_FIELDS = {"description", "default", "secret"}
TEMPLATE = PROJECT["template"]
ANSWERS = {
    "certless:tenantId": "0d4b1c9e-8a7f-4e2d-9c3b-5a6f7e8d9c0b",
    "certless:resourceGroupName": "rg-orders",
}


def test_project_file_is_valid_against_pulumis_project_schema() -> None:
    errors = validator(project_schema()).iter_errors(PROJECT)
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_the_project_schema_check_catches_a_broken_template() -> None:
    broken = copy.deepcopy(PROJECT)
    broken["template"]["prompts"] = ["tenantId"]  # not a template field
    broken["template"]["important"] = "yes"
    paths = {tuple(e.path) for e in validator(project_schema()).iter_errors(broken)}
    assert ("template",) in paths
    assert ("template", "important") in paths


def test_template_prompts_are_keys_the_program_reads() -> None:
    assert TEMPLATE["description"]
    assert "important" not in TEMPLATE  # deprecated in the CLI; nothing reads it
    prompts = TEMPLATE["config"]
    # Namespaced, because `pulumi new` puts a bare key under the new project's name.
    readable = {f"{NS}:{k}" for k in KEYS} | {LOCATION_KEY}
    assert set(prompts) <= readable
    assert {"certless:tenantId", "certless:resourceGroupName", "certless:workloads"} <= set(prompts)
    for key, entry in prompts.items():
        assert set(entry) <= TEMPLATE_VALUE_FIELDS, key
        assert entry["description"], key
        assert not entry.get("secret"), key  # the program refuses secret config
        # The CLI holds a template default as a string: a YAML map or list there fails to load.
        assert isinstance(entry.get("default", ""), str), key
    # Only the values no default can guess are left to the person running `pulumi new`.
    assert {k for k, e in prompts.items() if "default" not in e} == set(ANSWERS)


def test_a_stack_made_from_the_template_defaults_deploys_its_first_workload() -> None:
    # The stack file `pulumi new` writes (answers, then template defaults, all strings), over the
    # project's own config defaults, as the engine hands it to the real program.
    written = {k: e["default"] for k, e in TEMPLATE["config"].items() if "default" in e} | ANSWERS
    assert all(isinstance(v, str) for v in written.values())
    project_defaults = {f"{NS}:{k}": d["default"] for k, d in PROJECT["config"].items() if "default" in d}
    recorder, outputs = run_main("orders", project_defaults | written)
    recorder.one("certless:index:CertificatelessWorkload", "web")
    web = outputs["workloads"]["web"]
    assert web["azureAdEnv"]["AzureAd__TenantId"] == ANSWERS["certless:tenantId"]
    assert web["identityResourceId"].endswith(
        "/resourceGroups/rg-orders/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-web"
    )
    assert [f["on"] for f in web["federatedCredentials"]] == ["app"]
    assert recorder.one("azure-native:web:WebApp").inputs["resourceGroupName"] == "rg-orders"


def test_readme_shows_how_to_start_a_project_from_the_template() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "pulumi new https://github.com/certless/certless --name certless" in readme
