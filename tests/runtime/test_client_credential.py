"""certless.client_credential(): what MSAL-based libraries receive as client_credential."""

from __future__ import annotations

from pathlib import Path

import certless
from certless import settings_from_mapping

from .support import TENANT


def _settings(source: dict[str, str]) -> certless.Settings:
    return settings_from_mapping(
        {
            "Instance": "https://login.microsoftonline.com/",
            "TenantId": TENANT,
            "ClientId": "11111111-2222-3333-4444-555555555555",
            "ClientCredentials": [source],
        }
    )


def test_secret_source_yields_what_msal_takes_for_a_secret() -> None:
    value = "local-dev-only-value"
    settings = _settings({"SourceType": "ClientSecret", "ClientSecret": value})
    assert certless.client_credential(settings) == value


def _jwt(exp: int) -> str:
    import base64
    import json

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    header = part({"alg": "RS256", "typ": "JWT"})
    return f"{header}.{part({'aud': 'api://AzureADTokenExchange', 'exp': exp})}.sig"


def test_assertion_source_yields_a_callable_reading_the_current_assertion(tmp_path: Path) -> None:
    import inspect
    import time

    token_file = tmp_path / "token"
    first = _jwt(int(time.time()) + 3600)
    token_file.write_text(first)
    settings = _settings(
        {"SourceType": "SignedAssertionFilePath", "SignedAssertionFileDiskPath": str(token_file)}
    )
    value = certless.client_credential(settings)
    assert set(value) == {"client_assertion"}
    func = value["client_assertion"]
    # MSAL >= 1.37 passes a context only to callables with a required positional parameter.
    assert not [p for p in inspect.signature(func).parameters.values() if p.default is p.empty]
    assert func() == first
