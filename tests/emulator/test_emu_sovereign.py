"""A sovereign plan is served as that cloud's Entra would serve it: its login host in every issuer, its
token-exchange audience for managed identities and AKS pods, and nothing for the public audience."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from emu_helpers import PLAN, appservice, claims, exchange

from emulator import Emulator, Records, RecordsError

PUBLIC_HOST, PUBLIC_AUDIENCE = "login.microsoftonline.com", "api://AzureADTokenExchange"
CLOUDS = {
    "AzureUSGovernment": ("login.microsoftonline.us", "api://AzureADTokenExchangeUSGov"),
    "AzureChina": ("login.partner.microsoftonline.cn", "api://AzureADTokenExchangeChina"),
}


def sovereign_plan(cloud: str) -> dict[str, Any]:
    """The fixture plan as `certless plan` writes it for ``cloud``: outputs and every Entra FIC moved."""
    host, audience = CLOUDS[cloud]
    doc = json.loads(PLAN.read_text())
    text = json.dumps(doc)
    text = text.replace(f"https://{PUBLIC_HOST}/", f"https://{host}/")
    text = text.replace(f'"{PUBLIC_AUDIENCE}"', f'"{audience}"')
    doc = json.loads(text)
    doc["outputs"]["cloud"] = cloud
    return dict(doc)


@pytest.fixture(params=sorted(CLOUDS))
def cloud(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sovereign(cloud: str) -> Any:
    records = Records.from_plan(sovereign_plan(cloud))
    with Emulator(records) as running:
        yield running
        assert running.internal_errors == []


def test_a_sovereign_plan_loads_with_its_cloud(cloud: str) -> None:
    assert Records.from_plan(sovereign_plan(cloud)).cloud == cloud


def test_the_managed_identity_token_carries_the_clouds_issuer_and_audience_and_is_accepted(
    cloud: str, sovereign: Emulator
) -> None:
    host, audience = CLOUDS[cloud]
    w = sovereign.records.workload("orders")
    env = sovereign.host_env("appservice", "orders")
    got = appservice(sovereign, env["IDENTITY_HEADER"], resource=audience, client_id=w.identity_client_id)
    assert got.status_code == 200, got.text
    token = got.json()["access_token"]
    mi = claims(token)
    tenant = w.tenant_id
    assert mi["iss"] == f"https://{host}/{tenant}/v2.0"
    assert mi["aud"] == audience
    # The app's FIC (issuer and audience of this cloud) accepts it; the access token is this cloud's too.
    done = exchange(sovereign, tenant, w.app_client_id, token, "https://storage.azure.com/.default")
    assert done.status_code == 200, done.text
    access = claims(done.json()["access_token"])
    assert access["aud"] == "https://storage.azure.com"


def test_the_discovery_document_names_the_clouds_issuer(cloud: str, sovereign: Emulator) -> None:
    import requests

    host, _ = CLOUDS[cloud]
    tenant = sovereign.records.tenants[0]
    doc = requests.get(
        f"{sovereign.entra_url}/{tenant}/v2.0/.well-known/openid-configuration",
        verify=sovereign.ca_bundle_path,
        timeout=10,
    ).json()
    assert doc["issuer"] == f"https://{host}/{tenant}/v2.0"


def test_an_app_asking_for_the_public_audience_in_a_sovereign_cloud_gets_entras_error(
    cloud: str, sovereign: Emulator
) -> None:
    # What a .NET app without TokenExchangeUrl does: the public exchange audience does not exist there.
    w = sovereign.records.workload("orders")
    env = sovereign.host_env("appservice", "orders")
    got = appservice(
        sovereign, env["IDENTITY_HEADER"], resource=PUBLIC_AUDIENCE, client_id=w.identity_client_id
    )
    assert got.status_code == 400, got.text
    assert "AADSTS500011" in got.text


def test_an_aks_pod_token_carries_the_clouds_audience(cloud: str, sovereign: Emulator) -> None:
    _, audience = CLOUDS[cloud]
    env = sovereign.host_env("aks-direct", "ingest")
    pod_token = Path(env["AZURE_FEDERATED_TOKEN_FILE"]).read_text()
    pod = claims(pod_token)
    assert pod["aud"] == [audience]
    w = sovereign.records.workload("ingest")
    done = exchange(
        sovereign,
        w.tenant_id,
        w.app_client_id,
        pod_token,
        "https://storage.azure.com/.default",
    )
    assert done.status_code == 200, done.text


def test_a_public_plan_still_mints_the_public_exchange_audience_by_its_app_id() -> None:
    with Emulator(Records.from_plan(PLAN)) as emu:
        w = emu.records.workload("orders")
        token = emu.issue_identity_token(w.identity_client_id)
        assert claims(token)["aud"] == "fb60f99c-7a34-4190-8149-302f77469936"
        assert claims(token)["iss"].startswith(f"https://{PUBLIC_HOST}/")


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        ({"cloud": "AzureGermany"}, "plan.outputs.cloud: got 'AzureGermany', expected one of AzurePublic"),
        (
            {"cloud": "AzureUSGovernment", "tokenExchangeAudience": PUBLIC_AUDIENCE},
            "plan.outputs.tokenExchangeAudience: got 'api://AzureADTokenExchange'",
        ),
    ],
)
def test_a_plan_whose_cloud_the_emulator_cannot_serve_is_refused_at_load(
    edit: dict[str, str], fragment: str
) -> None:
    doc = copy.deepcopy(json.loads(PLAN.read_text()))
    doc["outputs"].update(edit)
    with pytest.raises(RecordsError) as err:
        Records.from_plan(doc)
    assert fragment in str(err.value)


def test_a_records_file_names_its_cloud() -> None:
    doc = {"schema": "certless.emulator-records/v1", "tenants": [], "cloud": "AzureUSGovernment"}
    assert Records.from_file(doc).cloud == "AzureUSGovernment"
    with pytest.raises(RecordsError, match=r"records\.cloud: got 'usgov'"):
        Records.from_file({**doc, "cloud": "usgov"})
