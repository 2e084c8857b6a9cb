# mypy: disable-error-code="no-untyped-def"
# (pyproject relaxes this for tests.*; these files are not under a tests package, so say it here)
"""AKS issuers and the kubelet-like projector; Entra discovery documents and JWKS."""

from __future__ import annotations

import os
import ssl
import stat
import threading

import jwt
import pytest
import requests
from emu_helpers import claims, exchange

from emulator import RecordsError

EXCHANGE = "api://AzureADTokenExchange"


def wait_for(predicate, what: str, limit: float = 10.0) -> None:
    """Wait for a background event (not a timing assertion: the limit only stops a hung test)."""
    done = threading.Event()
    step = 0.02
    waited = 0.0
    while not predicate():
        if waited >= limit:
            pytest.fail(f"gave up waiting for {what}")
        done.wait(step)
        waited += step


def test_projected_token_claims_and_file(emu, records, tmp_path):
    w = records.workload("reports")
    path = tmp_path / "tokens" / "azure-identity-token"
    emu.project_service_account_token(w.cluster, w.namespace, w.service_account, path, lifetime=3600)
    c = claims(path.read_text())
    cluster = records.cluster(w.cluster)
    assert c["iss"] == cluster.issuer_url
    assert c["sub"] == "system:serviceaccount:reports:reports-sa"
    assert c["aud"] == [EXCHANGE]
    assert c["exp"] - c["iat"] == 3600
    assert c["kubernetes.io"]["namespace"] == "reports"
    assert c["kubernetes.io"]["serviceaccount"]["name"] == "reports-sa"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_projected_token_rotates_at_80_percent_with_atomic_replace(emu, records, tmp_path):
    w = records.workload("reports")
    path = tmp_path / "azure-identity-token"
    projector = emu.project_service_account_token(w.cluster, w.namespace, w.service_account, path, lifetime=1)
    first_inode, first = os.stat(path).st_ino, path.read_text()
    wait_for(lambda: projector.rotations >= 2, "a rotation")
    second = path.read_text()
    assert second != first
    assert claims(second)["jti"] != claims(first)["jti"]
    assert os.stat(path).st_ino != first_inode  # replaced, never rewritten in place
    assert [p.name for p in tmp_path.iterdir()] == ["azure-identity-token"]  # no temp files left behind
    projector.stop()
    rotations = projector.rotations
    assert not projector._thread.is_alive()
    assert projector.rotations == rotations


def test_rotated_token_is_accepted_after_the_first_one_expired(emu, records, tmp_path):
    w = records.workload("ingest")
    path = tmp_path / "token"
    projector = emu.project_service_account_token(
        w.cluster, w.namespace, w.service_account, path, lifetime=3600
    )
    first = path.read_text()
    emu.clock_skew(3600 + 301)  # the first token is now past exp + the skew allowance
    assert (
        exchange(emu, w.tenant_id, w.app_client_id, first, "https://storage.azure.com/.default").status_code
        == 401
    )
    projector.write()  # what kubelet did in the meantime
    fresh = path.read_text()
    assert (
        exchange(emu, w.tenant_id, w.app_client_id, fresh, "https://storage.azure.com/.default").status_code
        == 200
    )


def test_aks_issuer_discovery_and_jwks_verify_the_projected_token(emu, records, tmp_path):
    w = records.workload("reports")
    cluster = records.cluster(w.cluster)
    doc = requests.get(
        f"{emu.entra_url}/aks/{w.cluster}/.well-known/openid-configuration",
        verify=emu.ca_bundle_path,
        timeout=5,
    ).json()
    assert doc["issuer"] == cluster.issuer_url
    path = tmp_path / "t"
    emu.project_service_account_token(w.cluster, w.namespace, w.service_account, path)
    ctx = ssl.create_default_context(cafile=emu.ca_bundle_path)
    signing_key = jwt.PyJWKClient(doc["jwks_uri"], ssl_context=ctx).get_signing_key_from_jwt(path.read_text())
    verified = jwt.decode(
        path.read_text(), signing_key.key, algorithms=["RS256"], audience=EXCHANGE, issuer=cluster.issuer_url
    )
    assert verified["sub"] == "system:serviceaccount:reports:reports-sa"
    assert emu.counters["oidc"] == 2
    missing = requests.get(
        f"{emu.entra_url}/aks/nope/.well-known/openid-configuration", verify=emu.ca_bundle_path, timeout=5
    )
    assert missing.status_code == 404


def test_projector_rejects_unknown_cluster(emu, tmp_path):
    with pytest.raises(RecordsError, match="cluster: got nope"):
        emu.project_service_account_token("nope", "ns", "sa", tmp_path / "t")


def test_entra_discovery_points_back_at_the_emulator(emu, tenant):
    doc = requests.get(
        f"{emu.entra_url}/{tenant}/v2.0/.well-known/openid-configuration",
        verify=emu.ca_bundle_path,
        timeout=5,
    ).json()
    assert doc["issuer"] == f"https://login.microsoftonline.com/{tenant}/v2.0"
    assert doc["token_endpoint"] == f"{emu.entra_url}/{tenant}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"].startswith(emu.entra_url)
    assert doc["jwks_uri"] == f"{emu.entra_url}/{tenant}/discovery/v2.0/keys"
    v1 = requests.get(
        f"{emu.entra_url}/{tenant}/.well-known/openid-configuration", verify=emu.ca_bundle_path, timeout=5
    ).json()
    assert v1["issuer"] == f"https://sts.windows.net/{tenant}/"
    instance = requests.get(
        f"{emu.entra_url}/common/discovery/instance",
        params={
            "api-version": "1.1",
            "authorization_endpoint": f"{emu.entra_url}/{tenant}/oauth2/v2.0/authorize",
        },
        verify=emu.ca_bundle_path,
        timeout=5,
    ).json()
    assert (
        instance["tenant_discovery_endpoint"]
        == f"{emu.entra_url}/{tenant}/v2.0/.well-known/openid-configuration"
    )
    unknown = requests.get(
        f"{emu.entra_url}/not-a-tenant/v2.0/.well-known/openid-configuration",
        verify=emu.ca_bundle_path,
        timeout=5,
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_tenant"


def test_jwks_verifies_issued_tokens(emu, records, tenant):
    w = records.workload("orders")
    token = emu.issue_identity_token(w.identity_client_id)
    ctx = ssl.create_default_context(cafile=emu.ca_bundle_path)
    client = jwt.PyJWKClient(f"{emu.entra_url}/{tenant}/discovery/v2.0/keys", ssl_context=ctx)
    key = client.get_signing_key_from_jwt(token)
    jwk = client.get_jwk_set().keys[0]
    assert jwk.key_id == jwt.get_unverified_header(token)["kid"]
    assert set(jwk._jwk_data) >= {"kty", "use", "kid", "x5t", "n", "e", "x5c", "issuer"}
    verified = jwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience="fb60f99c-7a34-4190-8149-302f77469936",
        issuer=f"https://login.microsoftonline.com/{tenant}/v2.0",
    )
    assert verified["idtyp"] == "app"
