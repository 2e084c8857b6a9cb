"""A stack with App Service Authentication planned offline: the simulator answers as Azure would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from certless_ops.plan.config import load_stack_config
from certless_ops.plan.runner import run_plan

from .support import REPO

AUTH = "azure-native:web:WebAppAuthSettingsV2WithoutSecrets"


def easy_auth_plan(tmp_path: Path) -> dict[str, Any]:
    doc = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
    config = doc["config"]
    config["certless:apps"]["orders"]["web"] = {"redirectUris": ["http://localhost:5000/signin-oidc"]}
    config["certless:workloads"]["orders-web"]["appService"]["authentication"] = {
        "excludedPaths": ["/health"]
    }
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(doc))
    return run_plan(load_stack_config(REPO, "dev", path))


def test_the_auth_settings_are_the_sites_authsettingsv2_config_as_arm_names_it(tmp_path: Path) -> None:
    plan = easy_auth_plan(tmp_path)
    (auth,) = [r for r in plan["resources"] if r["type"] == AUTH]
    (site,) = [r for r in plan["resources"] if r["type"] == "azure-native:web:WebApp"]
    out = auth["outputs"]
    assert out["id"] == f"{site['outputs']['id']}/config/authsettingsV2"
    assert out["name"] == "authsettingsV2" and out["type"] == "Microsoft.Web/sites/config"
    registration = out["identityProviders"]["azureActiveDirectory"]["registration"]
    assert registration["clientSecretSettingName"] == "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID"
    assert AUTH not in plan["simulation"].get("unmodelledTypes", [])
    (sticky,) = [r for r in plan["resources"] if r["type"] == "azure-native:web:WebAppSlotConfigurationNames"]
    assert sticky["outputs"]["id"] == f"{site['outputs']['id']}/config/slotConfigNames"
    callback = f"https://{site['outputs']['defaultHostName']}/.auth/login/aad/callback"
    assert plan["outputs"]["workloads"]["orders-web"]["authentication"]["callbackUri"] == callback


def test_a_preview_declares_the_same_auth_resources_with_the_callback_known(tmp_path: Path) -> None:
    from certless_ops.plan.runner import run_preview

    plan = easy_auth_plan(tmp_path)
    preview = run_preview(load_stack_config(REPO, "dev", tmp_path / "Pulumi.dev.yaml"))
    assert sorted(r["urn"] for r in preview["resources"]) == sorted(r["urn"] for r in plan["resources"])
    (app,) = [r for r in preview["resources"] if r["type"] == "azuread:index/application:Application"]
    callback = "https://certless-orders-web-dev.azurewebsites.net/.auth/login/aad/callback"
    assert callback in app["inputs"]["web"]["redirectUris"]  # known before the site exists
    (auth,) = [r for r in preview["resources"] if r["type"] == AUTH]
    registration = auth["inputs"]["identityProviders"]["azureActiveDirectory"]["registration"]
    assert registration["clientSecretSettingName"] == "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID"
