"""Certificate rotation: when Entra rejects the certificate (the app registration now trusts a renewed
one), the one retry reloads the certificate from its file or vault and presents it through an MSAL app
built with it, not through the app that still holds the old certificate."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import hashes, serialization

from certless import credential_from_settings
from certless._http import Response
from emulator import CertificateCredential, Emulator

from .support import IDS, STORAGE
from .test_sources import FakeVault, _certificate, _pem, _pfx

HostFn = Callable[..., dict[str, str]]
VAULT_SCOPE = "https://vault.azure.net/.default"


class _Presented:
    """Wraps a transport; records the certificate thumbprint (x5t#S256) of each client assertion."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.thumbprints: list[str] = []

    def request(self, method: str, url: str, **kw: Any) -> Response:
        data = kw.get("data")
        if method == "POST" and url.endswith("/oauth2/v2.0/token") and data is not None:
            form = data if isinstance(data, Mapping) else {k: v[0] for k, v in parse_qs(str(data)).items()}
            value = form.get("client_assertion", "")
            assertion = value.decode() if isinstance(value, bytes) else str(value)
            if assertion.count(".") == 2:
                head = assertion.split(".")[0]
                header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
                self.thumbprints.append(str(header.get("x5t#S256", "")).rstrip("="))
        return self.inner.request(method, url, **kw)

    def close(self) -> None:
        self.inner.close()


def _s256(cert: Any) -> str:
    return base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA256())).decode().rstrip("=")


@pytest.fixture
def registered(emulator: Emulator) -> Iterator[list[CertificateCredential]]:
    """The app registration's certificate list, restored afterwards (the emulator is per module)."""
    app = emulator.records.app(IDS.app)
    assert app is not None
    before = list(app.certificates)
    yield app.certificates
    app.certificates[:] = before


def _register(certificates: list[CertificateCredential], cert: Any) -> CertificateCredential:
    credential = CertificateCredential.from_pem(cert.public_bytes(serialization.Encoding.PEM))
    certificates.append(credential)
    return credential


@pytest.mark.parametrize("where", ["Path", "KeyVault"])
def test_a_rotated_certificate_is_presented_by_the_retry(
    emulator: Emulator, host: HostFn, tmp_path: Path, registered: list[CertificateCredential], where: str
) -> None:
    old_key, old_cert = _certificate()
    new_key, new_cert = _certificate()
    old_registration = _register(registered, old_cert)
    path = tmp_path / "app.pem"
    path.write_bytes(_pem(old_key, old_cert))
    vault = FakeVault(_pfx(old_key, old_cert, None))
    if where == "Path":
        settings = {"AzureAd__ClientCredentials__0__CertificateDiskPath": str(path)}
    else:
        settings = {
            "AzureAd__ClientCredentials__0__KeyVaultUrl": FakeVault.VAULT,
            "AzureAd__ClientCredentials__0__KeyVaultCertificateName": "app-cert",
            "AzureAd__ClientCredentials__0__ManagedIdentityClientId": IDS.identity,
        }
    host("appservice", "web", AzureAd__ClientCredentials__0__SourceType=where, **settings)
    transport = _Presented(vault)
    with credential_from_settings(transport=transport) as credential:
        assert credential.get_token(STORAGE).token
        assert transport.thumbprints == [_s256(old_cert)]
        # Rotation: the app registration trusts only the renewed certificate, which the file or
        # vault now holds; this process still has the old one loaded.
        _register(registered, new_cert)
        registered.remove(old_registration)
        path.write_bytes(_pem(new_key, new_cert))
        vault.pfx = _pfx(new_key, new_cert, None)
        assert credential.get_token(VAULT_SCOPE).token  # a request that must reach Entra
        assert transport.thumbprints[-2:] == [_s256(old_cert), _s256(new_cert)]
        # and from then on the renewed certificate is what this credential presents
        assert credential.get_token(STORAGE, claims='{"access_token":{}}').token
        assert transport.thumbprints[-1] == _s256(new_cert)


def test_on_behalf_of_presents_the_rotated_certificate_on_its_retry(
    emulator: Emulator, host: HostFn, tmp_path: Path, registered: list[CertificateCredential]
) -> None:
    from certless import OnBehalfOfCredential, load_settings

    old_key, old_cert = _certificate()
    new_key, new_cert = _certificate()
    old_registration = _register(registered, old_cert)
    path = tmp_path / "app.pem"
    path.write_bytes(_pem(old_key, old_cert))
    host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__0__SourceType="Path",
        AzureAd__ClientCredentials__0__CertificateDiskPath=str(path),
    )
    api_scope = f"api://{IDS.app}/access_as_user"
    user_token = emulator.user_token("alice", IDS.app_direct, api_scope)
    transport = _Presented(FakeVault(b""))  # FakeVault passes everything but its vault through
    credential = OnBehalfOfCredential(user_token, load_settings(), transport=transport)
    assert credential.get_token("https://storage.azure.com/user_impersonation").token
    _register(registered, new_cert)
    registered.remove(old_registration)
    path.write_bytes(_pem(new_key, new_cert))
    assert credential.get_token("https://vault.azure.net/user_impersonation").token
    assert transport.thumbprints[-2:] == [_s256(old_cert), _s256(new_cert)]
