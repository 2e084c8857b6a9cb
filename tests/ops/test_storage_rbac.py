"""The RBAC model in front of Azurite: which permission each Blob call needs, scope inheritance, refusals."""

from __future__ import annotations

import http.client
import ssl
import time
from pathlib import Path

import jwt
import pytest
import trustme
from cryptography.hazmat.primitives.asymmetric import rsa

from certless_ops.azurite import make_loopback_tls
from certless_ops.storage_rbac import Assignment, StorageRbac, decide, operation
from policy.rules import roles

SUB = "/subscriptions/00000000-0000-0000-0000-0000000000aa"
ACCOUNT = f"{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st"
OID = "11111111-1111-1111-1111-111111111111"
BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers"


@pytest.mark.parametrize(
    ("method", "path", "query", "permission", "data"),
    [
        ("PUT", "/acct/c1", "restype=container", f"{CONTAINERS}/write", False),
        ("DELETE", "/acct/c1", "restype=container", f"{CONTAINERS}/delete", False),
        ("GET", "/acct/c1", "restype=container&comp=list", f"{BLOBS}/read", True),
        ("PUT", "/acct/c1/a/b.txt", "", f"{BLOBS}/write", True),
        ("GET", "/acct/c1/b.txt", "", f"{BLOBS}/read", True),
        ("HEAD", "/acct/c1/b.txt", "", f"{BLOBS}/read", True),
        ("DELETE", "/acct/c1/b.txt", "", f"{BLOBS}/delete", True),
        ("GET", "/acct", "comp=list", f"{CONTAINERS}/read", False),
    ],
)
def test_each_blob_call_needs_the_permission_azure_checks(
    method: str, path: str, query: str, permission: str, data: bool
) -> None:
    op = operation(method, path, query, ACCOUNT)
    assert (op.permission, op.data) == (permission, data)
    if path.count("/") >= 2:
        assert op.resource_id == f"{ACCOUNT}/blobServices/default/containers/c1"


def _grant(role: str, scope: str, principal: str = OID) -> Assignment:
    return Assignment(principal, roles.ROLES[role], scope)


WRITE_BLOB = operation("PUT", "/acct/c1/b.txt", "", ACCOUNT)
READ_BLOB = operation("GET", "/acct/c1/b.txt", "", ACCOUNT)


@pytest.mark.parametrize(
    ("grant", "op", "allowed"),
    [
        (_grant("Storage Blob Data Contributor", ACCOUNT), WRITE_BLOB, True),
        (_grant("Storage Blob Data Contributor", SUB), WRITE_BLOB, True),  # inherited from the subscription
        (
            _grant(
                "Storage Blob Data Contributor", ACCOUNT.upper().replace("/SUBSCRIPTIONS", "/subscriptions")
            ),
            WRITE_BLOB,
            True,
        ),
        (
            _grant("Storage Blob Data Contributor", f"{ACCOUNT}/blobServices/default/containers/c1"),
            WRITE_BLOB,
            True,
        ),
        (
            _grant("Storage Blob Data Contributor", f"{ACCOUNT}/blobServices/default/containers/c2"),
            WRITE_BLOB,
            False,
        ),
        (
            _grant("Storage Blob Data Contributor", ACCOUNT + "2"),
            WRITE_BLOB,
            False,
        ),  # a sibling, not a parent
        (_grant("Storage Blob Data Reader", ACCOUNT), WRITE_BLOB, False),
        (_grant("Storage Blob Data Reader", ACCOUNT), READ_BLOB, True),
        (_grant("Storage Blob Data Owner", ACCOUNT), WRITE_BLOB, True),  # blobs/* wildcard
        (_grant("Owner", ACCOUNT), READ_BLOB, False),  # Actions '*' never cover DataActions
        (_grant("Storage Queue Data Contributor", ACCOUNT), READ_BLOB, False),
        (
            _grant(
                "Storage Blob Data Contributor", ACCOUNT, principal="22222222-2222-2222-2222-222222222222"
            ),
            READ_BLOB,
            False,
        ),
    ],
)
def test_decisions_follow_role_permissions_and_scope_inheritance(
    grant: Assignment, op: object, allowed: bool
) -> None:
    assert (decide([grant], OID.upper(), op) is not None) is allowed  # type: ignore[arg-type]


@pytest.fixture
def proxy(tmp_path: Path) -> tuple[StorageRbac, rsa.RSAPrivateKey, Path]:
    ca = trustme.CA()
    tls = make_loopback_tls(tmp_path, ca)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    keys = jwt.PyJWKSet.from_dict(
        {"keys": [{**jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1"}]}
    )
    # The upstream is never reached in these cases: port 9 on loopback has nothing listening.
    server = StorageRbac([], ACCOUNT, "127.0.0.1", 9, str(tls.ca_pem), tls.cert_pem, tls.key_pem, keys=keys)
    return server, key, tls.ca_pem


def _call(proxy: StorageRbac, ca: Path, token: str) -> tuple[int, dict[str, str], bytes]:
    context = ssl.create_default_context(cafile=str(ca))
    conn = http.client.HTTPSConnection("127.0.0.1", proxy.port, context=context, timeout=10)
    conn.request(
        "GET", "/acct/c1/b.txt", headers={"Authorization": f"Bearer {token}", "x-ms-version": "2025-01-05"}
    )
    resp = conn.getresponse()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()


def _token(key: rsa.RSAPrivateKey, kid: str = "k1") -> str:
    now = int(time.time())
    return jwt.encode(
        {"oid": OID, "iat": now, "exp": now + 600}, key, algorithm="RS256", headers={"kid": kid}
    )


def test_a_missing_grant_gets_storages_403_body_and_headers(
    proxy: tuple[StorageRbac, rsa.RSAPrivateKey, Path],
) -> None:
    server, key, ca = proxy
    with server:
        status, headers, body = _call(server, ca, _token(key))
    assert status == 403
    assert headers["x-ms-error-code"] == "AuthorizationPermissionMismatch"
    assert headers["content-type"] == "application/xml"
    text = body.decode()
    assert text.startswith(
        '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthorizationPermissionMismatch</Code>'
    )
    assert (
        "This request is not authorized to perform this operation using this permission.\nRequestId:" in text
    )
    assert f"RequestId:{headers['x-ms-request-id']}\nTime:" in text
    assert [(d.oid, d.allowed) for d in server.decisions] == [(OID, False)]


def test_a_token_not_signed_by_the_emulator_is_401(
    proxy: tuple[StorageRbac, rsa.RSAPrivateKey, Path],
) -> None:
    server, _, ca = proxy
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with server:
        status, headers, _ = _call(server, ca, _token(forger))
    assert status == 401
    assert headers["x-ms-error-code"] == "InvalidAuthenticationInfo"
    assert server.decisions == [], "a forged oid is never looked up"
