"""Every host check reads a URL the way the HTTP client will connect: ambiguous URLs are refused.

`https://evil\\@login.microsoftonline.com/` is login.microsoftonline.com to urlsplit but `evil` to urllib3,
so a check on one parser's reading would let the other send the assertion elsewhere.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from urllib3.util import parse_url

from certless import settings_from_mapping
from certless._sources.managed_identity import check_identity_endpoint
from certless._urls import AmbiguousUrlError, split_strict
from certless.errors import InsecureEndpointError, SettingsError

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-3333-4444-555555555555"
CREDENTIALS = [{"SourceType": "SignedAssertionFromManagedIdentity"}]

HOSTILE_HOSTS = [
    "evil\\@login.microsoftonline.com",
    "evil@login.microsoftonline.com",
    "user:pw@login.microsoftonline.com",
    "login.microsoftonline.com\\@evil",
    "login.microsoftonline.com%2f@evil",
    "%6cogin.microsoftonline.com",
    "login.microsoftonline.com.",
    "login.microsoftonline.com:",
    "login.microsoftonline.com:99999",
    "login.microsoftonline.com:44 3",
    "login.microsoftonline.com:+443",
    "login.microsoftonline.com\t",
    "login.microsoftonline.com\n.evil",
    "l\u00f6gin.microsoftonline.com",
    "login.microsoftonline.com\u3002evil",
    "[::1",
]


@pytest.mark.parametrize("host", HOSTILE_HOSTS)
def test_instance_with_an_ambiguous_host_is_a_settings_error(host: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from_mapping(
            {
                "Instance": f"https://{host}/",
                "TenantId": TENANT,
                "ClientId": CLIENT,
                "ClientCredentials": CREDENTIALS,
            }
        )
    assert "AzureAd:Instance" in str(caught.value)
    assert "unambiguous" in str(caught.value) or "Microsoft Entra host" in str(caught.value)


@pytest.mark.parametrize("host", HOSTILE_HOSTS)
def test_authority_with_an_ambiguous_host_is_a_settings_error(host: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from_mapping(
            {"Authority": f"https://{host}/{TENANT}", "ClientId": CLIENT, "ClientCredentials": CREDENTIALS}
        )
    assert "AzureAd:Authority" in str(caught.value)
    assert "unambiguous" in str(caught.value) or "Microsoft Entra host" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://evil\\@127.0.0.1:41234/msi/token",
        "http://evil@127.0.0.1:41234/msi/token",
        "http://127.0.0.1\\@evil:41234/msi/token",
        "http://127.0.0.1%2f@evil/",
        "http://127.0.0.1:/msi/token",
        "http://127.0.0.1 /msi/token",
        "http://127.0.0.1\r\nHost: evil/",
    ],
)
def test_identity_endpoint_with_an_ambiguous_host_is_refused(url: str) -> None:
    with pytest.raises(InsecureEndpointError):
        check_identity_endpoint("IDENTITY_ENDPOINT", url)


def test_plain_entra_and_loopback_urls_are_still_accepted() -> None:
    loaded = settings_from_mapping(
        {
            "Instance": "https://login.microsoftonline.com/",
            "TenantId": TENANT,
            "ClientId": CLIENT,
            "ClientCredentials": CREDENTIALS,
        }
    )
    assert loaded.instance == "https://login.microsoftonline.com/"
    check_identity_endpoint("IDENTITY_ENDPOINT", "http://127.0.0.1:41234/msi/token")
    check_identity_endpoint("IDENTITY_ENDPOINT", "http://[::1]:41234/msi/token")


_PIECES = st.sampled_from(
    [
        "login.microsoftonline.com",
        "evil",
        "@",
        "\\",
        ":",
        "443",
        "/",
        "?",
        "#",
        "%40",
        "[",
        "]",
        ".",
        "::1",
        " ",
        "a",
    ]
)


@settings(max_examples=4000, deadline=None, derandomize=True)
@given(st.lists(_PIECES, min_size=1, max_size=8).map("".join))
def test_an_accepted_url_has_the_same_host_for_urlsplit_and_urllib3(authority: str) -> None:
    url = f"https://{authority}/tenant"
    try:
        parts = split_strict(url)
    except AmbiguousUrlError:
        return
    assert (parts.hostname or "").lower().strip("[]") == (parse_url(url).host or "").lower().strip("[]")
    assert (urlsplit(url).hostname or "") == (parts.hostname or "")
