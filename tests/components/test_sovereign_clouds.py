"""Sovereign clouds: certless:cloud, the providers' environments and the region name one cloud, and a
sovereign app is told the cloud's token-exchange audience (TokenExchangeUrl) wherever its settings go."""

from __future__ import annotations

import copy
import json
from typing import Any

import pulumi
import pytest
from component_fakes import Recorder
from main_runner import run_main, shipped

from stackconfig import ConfigError, load

TEL = "AzureAd__ClientCredentials__0__TokenExchangeUrl"
SOVEREIGN = {
    "AzureUSGovernment": ("usgovvirginia", "usgovernment", "usgovernment", "api://AzureADTokenExchangeUSGov"),
    "AzureChina": ("chinanorth3", "china", "china", "api://AzureADTokenExchangeChina"),
}


def prod_in(cloud: str, **changes: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(shipped("prod"))
    location, native, ad, _ = SOVEREIGN[cloud]
    cfg.update(
        {
            "certless:cloud": cloud,
            "azure-native:location": location,
            "azure-native:environment": native,
            "azuread:environment": ad,
        }
    )
    for key, value in changes.items():
        if value is None:
            cfg.pop(key, None)
        else:
            cfg[key] = value
    return cfg


@pytest.mark.parametrize("cloud", sorted(SOVEREIGN))
def test_a_sovereign_stack_whose_providers_agree_loads(cloud: str) -> None:
    config = load(prod_in(cloud), set(), "prod")
    assert config.cloud.name == cloud


@pytest.mark.parametrize(
    ("native", "ad"),
    [("usgov", "usgovernmentl4"), ("AzureUSGovernment", "usgovernmentl5"), ("USGovernment", "dod")],
)
def test_every_name_the_providers_read_as_us_government_is_accepted(native: str, ad: str) -> None:
    cfg = prod_in("AzureUSGovernment", **{"azure-native:environment": native, "azuread:environment": ad})
    assert load(cfg, set(), "prod").cloud.name == "AzureUSGovernment"


def test_the_public_cloud_needs_no_provider_environment_and_accepts_the_public_names() -> None:
    load(shipped("prod"), set(), "prod")
    cfg = copy.deepcopy(shipped("prod"))
    cfg.update({"azure-native:environment": "public", "azuread:environment": "global"})
    assert load(cfg, set(), "prod").cloud.name == "AzurePublic"


MISMATCHES = [
    # (cloud, changes, the key the message starts with, the value it shows)
    ("AzureUSGovernment", {"azure-native:location": "westeurope"}, "azure-native:location", "'westeurope'"),
    ("AzureUSGovernment", {"azure-native:location": "chinanorth3"}, "azure-native:location", "'chinanorth3'"),
    ("AzureUSGovernment", {"azure-native:location": "usgovfoo"}, "azure-native:location", "'usgovfoo'"),
    ("AzureChina", {"azure-native:location": "usgovtexas"}, "azure-native:location", "'usgovtexas'"),
    ("AzureUSGovernment", {"azure-native:environment": None}, "azure-native:environment", "missing"),
    ("AzureUSGovernment", {"azure-native:environment": "public"}, "azure-native:environment", "'public'"),
    ("AzureUSGovernment", {"azure-native:environment": "china"}, "azure-native:environment", "'china'"),
    # azure-native reads an unknown name as public without a word: refused here instead.
    ("AzureUSGovernment", {"azure-native:environment": "usgovernmentl5"}, "azure-native:environment", "l5"),
    ("AzureChina", {"azure-native:environment": "azurechina"}, "azure-native:environment", "'azurechina'"),
    ("AzureUSGovernment", {"azuread:environment": None}, "azuread:environment", "missing"),
    ("AzureUSGovernment", {"azuread:environment": "global"}, "azuread:environment", "'global'"),
    ("AzureChina", {"azuread:environment": "usgovernment"}, "azuread:environment", "'usgovernment'"),
    ("AzureUSGovernment", {"azuread:environment": "azureusgovernment"}, "azuread:environment", "azureus"),
]


@pytest.mark.parametrize(("cloud", "changes", "key", "value"), MISMATCHES)
def test_a_cloud_location_or_environment_mismatch_names_all_three(
    cloud: str, changes: dict[str, Any], key: str, value: str
) -> None:
    cfg = prod_in(cloud, **changes)
    with pytest.raises(ConfigError) as err:
        load(cfg, set(), "prod")
    message = str(err.value)
    assert message.startswith(f"config {key}: "), message
    assert value in message, message
    assert f"certless:cloud is '{cloud}'" in message, message
    assert f"azure-native:location is '{cfg['azure-native:location']}'" in message, message
    assert "environment is" in message and "expected" in message, message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"azure-native:location": "usgovvirginia"}, "azure-native:location"),
        ({"azure-native:location": "chinaeast2"}, "azure-native:location"),
        ({"azure-native:environment": "usgovernment"}, "azure-native:environment"),
        ({"azure-native:environment": "publicc"}, "azure-native:environment"),
        ({"azuread:environment": "china"}, "azuread:environment"),
    ],
)
def test_a_public_stack_with_sovereign_providers_or_region_is_refused(
    changes: dict[str, Any], key: str
) -> None:
    cfg = copy.deepcopy(shipped("prod"))
    cfg.update(changes)
    with pytest.raises(ConfigError, match=rf"^config {key}: .*certless:cloud is 'AzurePublic'"):
        load(cfg, set(), "prod")


def test_a_mismatch_stops_the_program_before_any_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    import component_fakes

    seen: list[Recorder] = []
    real_install = component_fakes.install

    def spy(*args: Any, **kwargs: Any) -> Any:
        rec, fake = real_install(*args, **kwargs)
        seen.append(rec)
        return rec, fake

    monkeypatch.setattr("main_runner.install", spy)
    with pytest.raises(pulumi.RunError, match="azure-native:environment"):
        run_main("prod", prod_in("AzureUSGovernment", **{"azure-native:environment": "public"}))
    (rec,) = seen
    assert rec.registrations == [] and rec.invokes == []


@pytest.fixture(scope="module")
def usgov() -> tuple[Recorder, dict[str, Any]]:
    return run_main("prod", prod_in("AzureUSGovernment"))


def _env_lists(rec: Recorder) -> list[dict[str, str]]:
    """The AzureAd settings as each compute resource carries them (app settings, container env, pod env)."""
    found: list[dict[str, str]] = []
    for r in rec.registrations:
        if r.type == "azure-native:web:WebApp":
            found.append({s["name"]: s["value"] for s in r.inputs["siteConfig"]["appSettings"]})
        elif r.type == "azure-native:app:ContainerApp":
            found.append(
                {e["name"]: e.get("value", "") for e in r.inputs["template"]["containers"][0]["env"]}
            )
        elif r.type == "kubernetes:apps/v1:Deployment":
            container = r.inputs["spec"]["template"]["spec"]["containers"][0]
            found.append({e["name"]: e.get("value", "") for e in container["env"]})
    return found


def test_every_us_government_workload_sets_the_token_exchange_url_everywhere(
    usgov: tuple[Recorder, dict[str, Any]],
) -> None:
    rec, out = usgov
    audience = SOVEREIGN["AzureUSGovernment"][3]
    assert out["tokenExchangeAudience"] == audience
    for name, w in out["workloads"].items():
        assert w["azureAdEnv"][TEL] == audience, name
        assert w["azureAdEnv"]["AzureAd__Instance"] == "https://login.microsoftonline.us/", name
        credential = json.loads(w["appsettingsJson"])["AzureAd"]["ClientCredentials"][0]
        assert credential["TokenExchangeUrl"] == audience, name
        for fic in w["federatedCredentials"]:
            assert fic["audience"] == audience, (name, fic)
    computes = _env_lists(rec)
    assert len(computes) == 3  # container app, AKS deployment, function app
    for env in computes:
        assert env[TEL] == audience


def test_public_workloads_leave_the_token_exchange_url_to_its_default() -> None:
    rec, out = run_main("prod", shipped("prod"))
    for name, w in out["workloads"].items():
        assert TEL not in w["azureAdEnv"], name
        assert "TokenExchangeUrl" not in w["appsettingsJson"], name
    for env in _env_lists(rec):
        assert TEL not in env
