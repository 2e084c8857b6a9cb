"""Pack configuration semantics the engine applies: 'all', per-policy levels, disabled policies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from policy_plans import IDS, find, good_plan, set_prop

from certless_ops.errors import UserError
from certless_ops.review import review_plan
from certless_ops.review.pack_config import load_pack_config, parse_pack_config
from policy.rules import ALL_POLICIES

REPO = Path(__file__).resolve().parents[2]


def _broken_plan() -> dict:
    plan = good_plan()
    set_prop(find(plan, "orders-fic"), "subject", IDS["orders"][1])  # mandatory by default
    set_prop(find(plan, "orders-web", "WebApp"), "httpsOnly", False)  # advisory by default
    return plan


def test_all_sets_every_level_and_a_policy_entry_overrides_it() -> None:
    config = parse_pack_config(
        {"all": "advisory", "certless-app-service-hardening": "mandatory"}, ALL_POLICIES
    )
    levels = {v.policy: v.enforcement for v in review_plan(_broken_plan(), config).violations}
    assert levels == {
        "certless-app-fic-trusts-user-assigned-identity": "advisory",
        "certless-app-service-hardening": "mandatory",
    }


def test_a_disabled_policy_does_not_run() -> None:
    config = parse_pack_config({"certless-app-fic-trusts-user-assigned-identity": "disabled"}, ALL_POLICIES)
    result = review_plan(_broken_plan(), config)
    assert [v.policy for v in result.violations] == ["certless-app-service-hardening"]
    effective = {p["name"]: p["enforcement"] for p in result.policies}
    assert effective["certless-app-fic-trusts-user-assigned-identity"] == "disabled"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_shipped_pack_configs_are_valid(stack: str) -> None:
    config = load_pack_config(REPO / "policy" / "config" / f"{stack}.json", ALL_POLICIES)
    assert config.properties["certless-production-protected"] == {"production": stack == "prod"}


def test_a_required_property_type_is_enforced() -> None:
    with pytest.raises(UserError) as raised:
        parse_pack_config({"certless-production-protected": {"production": "yes"}}, ALL_POLICIES)
    assert str(raised.value) == (
        "policy pack config: certless-production-protected.production: 'yes' is not of type 'boolean'"
    )


def test_config_files_are_plain_json(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"certless-fic-limits": {"maxPerParent": 10}}), encoding="utf-8")
    config = load_pack_config(path, ALL_POLICIES)
    assert config.properties == {"certless-fic-limits": {"maxPerParent": 10}}
    assert config.levels == {}
