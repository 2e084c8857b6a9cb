"""A SettingsError stays one short line whatever the value, and numbers are read as .NET reads them."""

from __future__ import annotations

import pytest

from certless.errors import SettingsError
from certless.settings import load_settings

BASE_ENV = {
    "AzureAd__TenantId": "7f4c2a10-3b1d-4e55-9a21-5c0d9e8b1a01",
    "AzureAd__ClientId": "11111111-2222-3333-4444-555555555555",
    "AzureAd__ClientCredentials__0__SourceType": "SignedAssertionFromManagedIdentity",
}


@pytest.mark.parametrize(
    "name",
    [
        "AzureAd__ClientId",
        "AzureAd__TenantId",
        "AzureAd__Instance",
        "AzureAd__FicPropagationRetrySeconds",
        "AzureAd__ClientCredentials__0__SourceType",
        "AzureAd__ClientCredentials__0__ManagedIdentityClientId",
    ],
)
@pytest.mark.parametrize("size", [200, 1_000_000])
def test_a_huge_value_is_shown_capped_not_whole(name: str, size: int) -> None:
    value = "x" * size
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={**BASE_ENV, name: value})
    message = str(caught.value)
    assert caught.value.key.replace(":", "__").lower() == name.lower()
    assert value not in message and len(message) < 800 and "\n" not in message, message[:200]
    assert f"({size} characters)" in message


# Digits of other scripts: Python's float() reads them, .NET's invariant double parsing does not.
@pytest.mark.parametrize(
    "value", ["\u0663", "\uff13\uff10", "\u06f1\u06f2\u06f0", "\u0967\u0966", "3\u0660", "\u00b2"]
)
def test_fic_retry_seconds_in_non_ascii_digits_is_a_settings_error(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={**BASE_ENV, "AzureAd__FicPropagationRetrySeconds": value})
    assert caught.value.key == "AzureAd:FicPropagationRetrySeconds"


@pytest.mark.parametrize(("value", "seconds"), [("30", 30.0), ("0", 0.0), ("12.5", 12.5), ("900", 900.0)])
def test_fic_retry_seconds_in_ascii_still_work(value: str, seconds: float) -> None:
    settings = load_settings(environ={**BASE_ENV, "AzureAd__FicPropagationRetrySeconds": value})
    assert settings.fic_propagation_retry_seconds == seconds
