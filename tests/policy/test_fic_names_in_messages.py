"""The policy pack names a federated identity credential as the plan tree, the demo and bluegreen-check do:
by the name Entra or Azure stores (what the portal and `az` show), not the Pulumi resource name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from certless_ops.plan.config import load_stack_config
from certless_ops.plan.fic_names import APP_FIC, fic_name_of
from certless_ops.plan.runner import run_plan
from certless_ops.review import review_plan
from certless_ops.review.pack_config import parse_pack_config
from policy.rules import ALL_POLICIES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def planned() -> dict[str, Any]:
    return run_plan(load_stack_config(REPO, "dev"))


def test_a_fic_with_the_identitys_client_id_as_subject_is_named_as_entra_stores_it(
    planned: dict[str, Any],
) -> None:
    fic = next(r for r in planned["resources"] if r["type"] == APP_FIC)
    uami = next(
        r for r in planned["resources"] if r["type"] == "azure-native:managedidentity:UserAssignedIdentity"
    )
    stored = fic_name_of(fic)
    assert stored != fic["name"]  # the two names differ, so the message shows which one it uses
    for side in ("inputs", "outputs"):
        fic[side]["subject"] = uami["outputs"]["clientId"]
    messages = [v.message for v in review_plan(planned, parse_pack_config({}, ALL_POLICIES)).violations]
    (message,) = [m for m in messages if "the CLIENT ID of identity" in m]
    assert message.startswith(f"FIC {stored!r} has subject")
    assert f"FIC {fic['name']!r}" not in message
