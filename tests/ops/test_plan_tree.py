"""The wiring tree: what a reader sees for each FIC and each compute."""

from __future__ import annotations

import copy
from typing import Any

from rich.console import Console

from certless_ops.plan.tree import render

from .support import by_name


def _text(plan: dict[str, Any]) -> str:
    console = Console(record=True, width=200, color_system=None)
    render(plan, console)
    return console.export_text()


def test_tree_explains_each_fic_and_compute(mini_plan: dict[str, Any]) -> None:
    text = _text(mini_plan)
    orders = by_name(mini_plan, "orders-id")["outputs"]
    assert f"subject  {orders['principalId'][:8]}… = principalId of identity `orders-id`" in text
    assert "FIC 'mi-orders' on app registration `orders-app`" in text
    assert "= OIDC issuer of AKS cluster `aks-mini`" in text
    assert (
        "subject  system:serviceaccount:billing:billing = Kubernetes service account billing/billing" in text
    )
    assert f"ManagedIdentityClientId {orders['clientId'][:8]}… = clientId of identity `orders-id`" in text
    assert "identity UserAssigned: `orders-id`" in text
    assert "pod label azure.workload.identity/use: true" in text
    assert "warning: workload 'orders': system-assigned identities cannot be FIC subjects" in text


def test_tree_flags_a_fic_whose_subject_is_the_client_id(mini_plan: dict[str, Any]) -> None:
    plan = copy.deepcopy(mini_plan)
    by_name(plan, "orders-fic")["inputs"]["subject"] = by_name(plan, "orders-id")["outputs"]["clientId"]
    text = _text(plan)
    assert "= clientId of identity `orders-id` (wrong: the subject must be the principal ID)" in text


def test_tree_flags_a_pod_template_without_the_workload_identity_label(mini_plan: dict[str, Any]) -> None:
    plan = copy.deepcopy(mini_plan)
    del by_name(plan, "billing-deploy")["inputs"]["spec"]["template"]["metadata"]["labels"][
        "azure.workload.identity/use"
    ]
    assert "pod label azure.workload.identity/use: missing" in _text(plan)


def test_tree_follows_the_trust_chain_from_compute_to_app(mini_plan: dict[str, Any]) -> None:
    text = _text(mini_plan)
    assert "trust chain: identity `orders-id` → FIC 'mi-orders' on app registration `orders-app`" in text


def test_tree_reports_a_broken_chain(mini_plan: dict[str, Any]) -> None:
    plan = copy.deepcopy(mini_plan)
    by_name(plan, "orders-fic")["inputs"]["subject"] = by_name(plan, "orders-id")["outputs"]["clientId"]
    text = _text(plan)
    assert (
        "broken trust chain: identity `orders-id` → no FIC on app registration `orders-app` trusts it" in text
    )


def test_a_preview_plan_shows_its_unknown_ids_as_unknown(mini_plan: dict[str, Any]) -> None:
    plan = copy.deepcopy(mini_plan)  # `plan --preview`: outputs known only after deploy are "[unknown]"
    outputs = by_name(plan, "orders-id")["outputs"]
    outputs["clientId"] = outputs["principalId"] = "[unknown]"
    text = _text(plan)
    assert "clientId [unknown], principalId [unknown]" in text
