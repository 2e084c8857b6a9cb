"""The identity endpoint's error answers, word for word: what SignedAssertionFromManagedIdentity tells the
user for each kind of refusal, bad answer or silence, and whether the chain treats it as transient."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from certless import credential_from_settings
from certless._http import Response
from certless.errors import (
    CertlessError,
    CredentialUnavailableError,
    IdentityEndpointError,
    InsecureEndpointError,
    NoCredentialError,
)
from emulator import Emulator

from .support import IDS, STORAGE, FakeClock

HostFn = Callable[..., dict[str, str]]

FALLBACK_FIX = (
    "This host has no managed identity endpoint (not on Azure, or managed identity is off). On a "
    "laptop or in CI, add a fallback source after this one, e.g. SignedAssertionFilePath or "
    "ClientSecret, or run the certless emulator."
)
BAD_200_FIX = (
    "Usually one bad answer, retried on a later call; if it persists, check that IDENTITY_ENDPOINT / "
    "AZURE_POD_IDENTITY_AUTHORITY_HOST point at the identity endpoint and nothing else (a proxy or "
    "captive portal answers HTML)."
)
TRANSIENT_FIX = (
    "Transient statuses (404, 410, 429, 5xx) were retried with backoff; if it persists, check the "
    "compute's managed identity configuration in the Azure portal."
)


def _failure(clock: FakeClock, transport: _Answers | None = None) -> CertlessError:
    """The one source's error after a failed get_token."""
    with (
        credential_from_settings(clock=clock, transport=transport) as credential,
        pytest.raises(NoCredentialError) as info,
    ):
        credential.get_token(STORAGE)
    assert len(info.value.failures) == 1
    error = info.value.failures[0].error
    assert isinstance(error, CertlessError)
    return error


def _vm_endpoint(emulator: Emulator) -> str:
    return f"{emulator.host_imds_url('web')}/metadata/identity/oauth2/token"


class _Answers:
    """An identity endpoint that always answers the same (status, body)."""

    def __init__(self, status: int, text: str) -> None:
        self.status, self.text = status, text
        self.calls = 0

    def request(self, method: str, url: str, **kw: object) -> Response:
        self.calls += 1
        return Response(self.status, self.text)

    def close(self) -> None:
        pass


# ------------------------------------------------------------------------------------------ 400 answers


def test_an_unassigned_user_assigned_identity_is_named_in_the_fix(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("vm", "web", AzureAd__ClientCredentials__0__ManagedIdentityClientId=IDS.other_identity)
    error = _failure(clock)
    endpoint = _vm_endpoint(emulator)
    assert isinstance(error, IdentityEndpointError)
    assert (error.status, error.endpoint, error.transient) == (400, endpoint, False)
    assert error.summary == f"The managed identity endpoint {endpoint} answered 400: Identity not found"
    assert error.fix == (
        f"Assign the user-assigned identity {IDS.other_identity} to this compute, or correct "
        "ManagedIdentityClientId (it is the identity's client ID, not its principal ID)."
    )
    # The identity is asked for by its client ID, for the token-exchange audience, once (400 is permanent).
    asked = [r for r in emulator.requests if r.get("endpoint") == "imds"]
    assert [(r.get("selector"), r.get("resource"), r["status"]) for r in asked] == [
        ("client_id", "api://AzureADTokenExchange", 400)
    ]
    assert clock.sleeps == []


def test_several_identities_and_none_chosen_fix_is_the_whole_sentence(
    emulator: Emulator, host: HostFn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    host("vm", "web")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", emulator.imds_url)  # the VM with every identity
    monkeypatch.delenv("AzureAd__ClientCredentials__0__ManagedIdentityClientId")
    error = _failure(clock)
    endpoint = f"{emulator.imds_url}/metadata/identity/oauth2/token"
    assert isinstance(error, IdentityEndpointError) and error.status == 400
    assert error.summary == (
        f"The managed identity endpoint {endpoint} answered 400: Multiple user assigned identities exist, "
        "please specify the clientId / resourceId of the identity in the token request"
    )
    assert error.fix == (
        "Several identities are assigned to this compute and none was chosen: set "
        "ManagedIdentityClientId on the SignedAssertionFromManagedIdentity credential."
    )
    asked = [r for r in emulator.requests if r.get("endpoint") == "imds"]
    assert [r.get("selector") for r in asked] == [None]  # the system-assigned identity: no client_id sent


def test_no_system_assigned_identity_fix_is_the_whole_sentence(
    emulator: Emulator, host: HostFn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = host("appservice", "web")
    monkeypatch.delenv("AzureAd__ClientCredentials__0__ManagedIdentityClientId")
    error = _failure(clock)
    endpoint = env["IDENTITY_ENDPOINT"]
    assert isinstance(error, IdentityEndpointError)
    assert (error.status, error.endpoint, error.transient) == (400, endpoint, False)
    assert error.summary == (
        f"The managed identity endpoint {endpoint} answered 400: No system-assigned managed identity is "
        "enabled for this app; specify client_id, principal_id or mi_res_id to use a user-assigned identity."
    )
    assert error.fix == (
        "No ManagedIdentityClientId is set, so the system-assigned identity was asked for and this "
        "compute has none: set ManagedIdentityClientId on the SignedAssertionFromManagedIdentity "
        "credential to the client ID of the user-assigned identity attached to it (or enable the "
        "system-assigned identity)."
    )


def test_an_unexplained_400_says_check_the_system_assigned_identity(
    emulator: Emulator, host: HostFn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    host("vm", "web")
    monkeypatch.delenv("AzureAd__ClientCredentials__0__ManagedIdentityClientId")
    endpoint = _Answers(400, '{"error": "invalid_request", "error_description": "Bad resource"}')
    error = _failure(clock, transport=endpoint)
    assert isinstance(error, IdentityEndpointError) and error.status == 400
    assert error.summary.endswith(" answered 400: Bad resource"), error.summary
    assert error.fix == "Check that the system-assigned identity is assigned to this compute."
    assert endpoint.calls == 1 and clock.sleeps == []


def test_a_403_that_is_not_a_proxy_is_permanent_and_names_the_user_assigned_identity(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("vm", "web", AzureAd__ClientCredentials__0__ManagedIdentityClientId=IDS.identity)
    endpoint = _Answers(403, '{"message": "Forbidden by policy"}')
    error = _failure(clock, transport=endpoint)
    assert isinstance(error, IdentityEndpointError)
    assert (error.status, error.transient) == (403, False)
    assert error.summary.endswith(" answered 403: Forbidden by policy"), error.summary
    assert error.fix == f"Check that the user-assigned identity {IDS.identity} is assigned to this compute."
    assert endpoint.calls == 1 and clock.sleeps == []


# --------------------------------------------------------------------------------------------- 401, 403


def test_a_refused_identity_header_fix_is_the_whole_sentence(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    env = host("appservice", "web", IDENTITY_HEADER="0123456789abcdef0123456789abcdef")
    error = _failure(clock)
    endpoint = env["IDENTITY_ENDPOINT"]
    assert isinstance(error, IdentityEndpointError) and error.status == 401
    assert error.summary == (
        f"The managed identity endpoint {endpoint} answered 401: The X-IDENTITY-HEADER value does not "
        "match this host's identity header."
    )
    assert error.fix == (
        "The platform refused IDENTITY_HEADER: the value this process has is wrong or stale. Do not "
        "set IDENTITY_HEADER yourself (not in app settings, a .env file or a container image): the "
        "platform sets it for each process. Remove any such setting and restart the app so that it "
        "gets the current value."
    )


def test_a_proxy_saying_unreachable_means_no_identity_endpoint(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("vm", "web")
    emulator.faults.script("imds", ["unreachable"])
    error = _failure(clock)
    assert type(error) is CredentialUnavailableError and error.transient is False
    assert error.summary == (
        f"The managed identity endpoint {_vm_endpoint(emulator)} is unreachable (403: connecting to "
        "169.254.169.254:80: connecting to 169.254.169.254:80: dial tcp 169.254.169.254:80: connect: "
        "host is unreac)"
    )
    assert error.fix == FALLBACK_FIX
    assert emulator.counters["imds"] == 1


# ------------------------------------------------------------------------------------ transient statuses


@pytest.mark.parametrize("status", [404, 410, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_and_then_reported_with_the_attempts(
    emulator: Emulator, host: HostFn, clock: FakeClock, status: int
) -> None:
    host("vm", "web")
    emulator.faults.script("imds", [str(status)] * 60)
    error = _failure(clock)
    attempts = emulator.counters["imds"]
    assert attempts > 1
    assert isinstance(error, IdentityEndpointError) and error.status == status and error.transient
    answered = f"answered {status} after {attempts} attempts: "
    assert error.summary.startswith(f"The managed identity endpoint {_vm_endpoint(emulator)} {answered}")
    assert error.fix == TRANSIENT_FIX


# --------------------------------------------------------------------------------- broken 200 answers


@pytest.mark.parametrize(
    ("fault", "what"),
    [
        ("malformed", "a body that is not JSON"),
        ("malformed=html", "a body that is not JSON"),
        ("malformed=empty", "an empty body"),
        ("malformed=array", "JSON without an access_token"),
        ("malformed=no-token", "JSON without an access_token"),
    ],
)
def test_a_broken_200_answer_says_what_was_wrong_with_it(
    emulator: Emulator, host: HostFn, clock: FakeClock, fault: str, what: str
) -> None:
    host("vm", "web")
    emulator.faults.script("imds", [fault])
    error = _failure(clock)
    endpoint = _vm_endpoint(emulator)
    assert isinstance(error, IdentityEndpointError) and error.transient
    assert (error.status, error.endpoint) == (None, endpoint)
    assert error.summary == f"The managed identity endpoint {endpoint} answered HTTP 200 with {what}."
    assert error.fix == BAD_200_FIX


# -------------------------------------------------------------------------------------------- silence


def test_an_endpoint_nobody_listens_on_is_unavailable_not_transient(
    emulator: Emulator, host: HostFn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    host("vm", "web")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", f"http://127.0.0.1:{port}")
    error = _failure(clock)
    assert type(error) is CredentialUnavailableError and error.transient is False
    endpoint = f"http://127.0.0.1:{port}/metadata/identity/oauth2/token"
    assert error.summary.startswith(f"The managed identity endpoint {endpoint} did not answer ("), (
        error.summary
    )
    assert error.summary.endswith("; 2 attempts)."), error.summary
    assert error.fix == FALLBACK_FIX


def test_an_empty_access_token_is_a_broken_answer(emulator: Emulator, host: HostFn, clock: FakeClock) -> None:
    host("vm", "web")
    endpoint = _Answers(200, '{"access_token": "", "expires_in": "3599", "token_type": "Bearer"}')
    error = _failure(clock, transport=endpoint)
    assert isinstance(error, IdentityEndpointError) and error.transient
    assert error.summary == (
        f"The managed identity endpoint {_vm_endpoint(emulator)} answered HTTP 200 with JSON without an "
        "access_token."
    )
    assert error.fix == BAD_200_FIX


# ------------------------------------------------------------------------------------- the request sent


def test_a_token_exchange_url_with_default_scope_is_asked_for_as_a_resource(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("vm", "web", AzureAd__ClientCredentials__0__TokenExchangeUrl="api://AzureADTokenExchange/.default")
    with credential_from_settings(clock=clock) as credential:
        assert credential.get_token(STORAGE).token
    asked = [r for r in emulator.requests if r.get("endpoint") == "imds"]
    assert [(r.get("resource"), r.get("selector"), r.get("identity")) for r in asked] == [
        ("api://AzureADTokenExchange", "client_id", IDS.identity)
    ]


# ------------------------------------------------------------------------------ AKS workload identity

AKS_TOKEN_FILE_FIX = (
    "On AKS, label the pod azure.workload.identity/use=true and use a service account annotated with "
    "azure.workload.identity/client-id; elsewhere set SignedAssertionFileDiskPath."
)


@pytest.mark.parametrize("what", ["missing", "a directory"])
def test_an_unreadable_aks_token_file_is_unavailable_with_the_webhook_fix(
    emulator: Emulator,
    host: HostFn,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    what: str,
) -> None:
    host("aks-via-identity", "reports")
    path = str(tmp_path / "token") if what == "missing" else str(tmp_path)
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", path)
    reason = "No such file or directory" if what == "missing" else "Is a directory"
    error = _failure(clock)
    assert type(error) is CredentialUnavailableError and error.transient is False
    assert error.summary == (
        f"#0 SignedAssertionFilePath ({path}): cannot read the token file {path!r} ({reason})."
    )
    assert error.fix == AKS_TOKEN_FILE_FIX
    assert emulator.counters["entra-token"] == 0


def test_an_empty_aks_token_file_is_transient(
    emulator: Emulator, host: HostFn, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    host("aks-via-identity", "reports")
    path = tmp_path / "token"
    path.write_text("\n")
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(path))
    error = _failure(clock)
    assert type(error) is CredentialUnavailableError and error.transient is True
    assert error.summary == f"#0 SignedAssertionFilePath ({path}): the token file {str(path)!r} is empty."
    assert emulator.counters["entra-token"] == 0


def test_an_aks_tenant_that_is_not_a_tenant_id_is_refused(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    host("aks-via-identity", "reports", AZURE_TENANT_ID="a/b")
    error = _failure(clock)
    assert type(error) is CredentialUnavailableError
    assert error.summary == "AZURE_TENANT_ID='a/b' is not a tenant ID or domain."
    assert (
        error.fix
        == "Set AZURE_TENANT_ID to the identity's tenant ID (the workload identity webhook sets it)."
    )
    assert emulator.counters["entra-token"] == 0


def test_an_aks_authority_host_with_a_path_is_refused(
    emulator: Emulator, host: HostFn, clock: FakeClock
) -> None:
    authority = f"{emulator.entra_url}/other"
    host("aks-via-identity", "reports", AZURE_AUTHORITY_HOST=authority)
    error = _failure(clock)
    assert type(error) is InsecureEndpointError
    assert error.summary == (
        f"Refusing AZURE_AUTHORITY_HOST={authority!r}: it must be the login host only, nothing after it "
        "(a path would name another tenant)."
    )
    assert (
        error.fix
        == "Set AZURE_AUTHORITY_HOST to the cloud's login host, e.g. https://login.microsoftonline.com/."
    )
    assert emulator.counters["entra-token"] == 0


# ---------------------------------------------------------------------------- where identity endpoints may be


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.1:8081/msi/token", "https://identity.example.com/msi/token", "ftp://127.0.0.1/msi/token"],
)
def test_an_identity_endpoint_off_the_host_is_refused_before_any_request(
    emulator: Emulator, host: HostFn, clock: FakeClock, url: str
) -> None:
    host("appservice", "web", IDENTITY_ENDPOINT=url)
    error = _failure(clock)
    assert type(error) is InsecureEndpointError
    assert error.summary == (
        f"Refusing the managed identity endpoint IDENTITY_ENDPOINT={url!r}: identity endpoints must be on "
        "loopback (127.0.0.0/8, ::1, localhost) or link-local (169.254.0.0/16) addresses."
    )
    assert error.fix == (
        "Unset or correct IDENTITY_ENDPOINT; Azure sets it to a local address on hosts with managed identity."
    )
    assert emulator.counters["appservice"] == 0
