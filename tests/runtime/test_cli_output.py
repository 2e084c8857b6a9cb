"""What ``python -m certless doctor`` and ``token`` show, line by line and key by key.

Each test runs the command once with ``--json`` and the text report in a buffer, so the text and the
JSON document describe the same run. Times are shown as ``<time>`` once their format is checked.
"""

from __future__ import annotations

import datetime
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from certless._cli import main
from emulator import Emulator

from .support import CLUSTER_ISSUER, IDS, ISSUER, TENANT

HostFn = Callable[..., dict[str, str]]

# A time the test cannot know (when the token or the assertion expires): checked for its format only.
TIME = re.compile(r"(?<=expires )\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
ARM = "https://management.azure.com/.default"
STORAGE = "https://storage.azure.com/.default"
EXCHANGE_APP_ID = "fb60f99c-7a34-4190-8149-302f77469936"
EXCHANGE = "api://AzureADTokenExchange"
PAD = "       "  # the indent of a check's detail lines


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], dict[str, Any]]:
    """Exit code, the text report's lines (expiries as <time>) and the JSON document of one run."""
    out = io.StringIO()
    code = main([*argv, "--json"], out=out)
    captured = capsys.readouterr()
    assert captured.err == ""  # the report went to `out`, nothing else was said
    text = out.getvalue()
    assert "eyJ" not in text + captured.out  # no JWT anywhere without --show-token
    return code, TIME.sub("<time>", text).splitlines(), json.loads(captured.out)


def untimed(value: Any) -> Any:
    """The JSON document with its formatted expiries as <time> (numeric claims are left alone)."""
    if isinstance(value, str):
        return TIME.sub("<time>", value)
    if isinstance(value, list):
        return [untimed(v) for v in value]
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items()}
    return value


def utc(epoch: int) -> str:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC).strftime("%Y-%m-%d %H:%M:%S") + " UTC"


def settings_lines(client: str, instance: str, *sources: str) -> list[str]:
    return [
        f"[ ok ] settings: client {client}, tenant {TENANT}, {instance}",
        f"{PAD}cloud Custom; token-exchange audience {EXCHANGE}",
        *(f"{PAD}source {s}" for s in sources),
    ]


def token_check(claims: dict[str, Any], scope: str = ARM) -> tuple[list[str], dict[str, Any]]:
    """The final check's lines and JSON entry, for a token whose claims the JSON document holds."""
    shown = {k: utc(v) if k in ("iat", "nbf", "exp") else v for k, v in claims.items()}
    lines = [f"[ ok ] token for {scope}: expires <time>"]
    lines += [
        f"{PAD}{k:<10} {shown[k]}" for k in ("iss", "sub", "aud", "appid", "oid", "tid", "iat", "nbf", "exp")
    ]
    entry = {
        "status": "ok",
        "check": f"token for {scope}",
        "detail": "expires <time>",
        "info": [],
        "claims": claims,
    }
    return lines, entry


def test_doctor_on_app_service_reports_every_check_and_the_fic_the_app_must_hold(
    emulator: Emulator, host: HostFn, capsys: pytest.CaptureFixture[str]
) -> None:
    env = host("appservice", "web")
    code, lines, document = run_json(capsys, "doctor")
    assert code == 0
    instance = env["AzureAd__Instance"]
    source = f"#0 SignedAssertionFromManagedIdentity ({IDS.identity})"
    claims = document["checks"][-1]["claims"]
    assert (claims["appid"], claims["aud"], claims["tid"]) == (
        IDS.app,
        "https://management.azure.com",
        TENANT,
    )
    token_lines, token_entry = token_check(claims)
    must_hold = (
        f"the app registration {IDS.app} must hold a FIC: issuer={ISSUER} "
        f"subject={IDS.identity_principal} audience={EXCHANGE}"
    )
    by_app_id = f"(tokens name the audience by its app ID {EXCHANGE_APP_ID}; FICs use the URI)"
    assert lines == [
        *settings_lines(IDS.app, instance, source),
        f"[ ok ] host: appservice (IDENTITY_ENDPOINT={env['IDENTITY_ENDPOINT']})",
        f"[ ok ] credential source: {source}",
        f"[ ok ] assertion: issuer {ISSUER}, subject {IDS.identity_principal}, audience {EXCHANGE_APP_ID}",
        f"{PAD}{must_hold}",
        f"{PAD}{by_app_id}",
        f"{PAD}assertion expires <time>",
        *token_lines,
    ]
    assert untimed(document) == {
        "passed": True,
        "checks": [
            {
                "status": "ok",
                "check": "settings",
                "detail": f"client {IDS.app}, tenant {TENANT}, {instance}",
                "info": [f"cloud Custom; token-exchange audience {EXCHANGE}", f"source {source}"],
            },
            {
                "status": "ok",
                "check": "host",
                "detail": f"appservice (IDENTITY_ENDPOINT={env['IDENTITY_ENDPOINT']})",
                "info": [],
            },
            {"status": "ok", "check": "credential source", "detail": source, "info": []},
            {
                "status": "ok",
                "check": "assertion",
                "detail": f"issuer {ISSUER}, subject {IDS.identity_principal}, audience {EXCHANGE_APP_ID}",
                "info": [must_hold, by_app_id, "assertion expires <time>"],
            },
            token_entry,
        ],
    }


def test_doctor_on_aks_via_identity_reports_the_service_account_hop_and_the_dotnet_difference(
    emulator: Emulator, host: HostFn, capsys: pytest.CaptureFixture[str]
) -> None:
    env = host("aks-via-identity", "reports")
    code, lines, document = run_json(capsys, "doctor")
    assert code == 0
    source = f"#0 SignedAssertionFromManagedIdentity ({IDS.aks_identity})"
    sa = "system:serviceaccount:reports:reports-sa"
    aks_vars = ", ".join(
        f"{name}={env[name]}"
        for name in (
            "AZURE_FEDERATED_TOKEN_FILE",
            "AZURE_CLIENT_ID",
            "AZURE_TENANT_ID",
            "AZURE_AUTHORITY_HOST",
        )
    )
    mi_fic = f"the managed identity needs a FIC: issuer={CLUSTER_ISSUER} subject={sa} audience={EXCHANGE}"
    app_fic = (
        f"the app registration {IDS.app} must hold a FIC: issuer={ISSUER} "
        f"subject={IDS.aks_principal} audience={EXCHANGE}"
    )
    checks = document["checks"]
    (note,) = [c for c in checks if c["status"] == "note"]
    assert note["check"] == "note" and note["info"] == []
    assert note["detail"].startswith(
        "differs from Microsoft.Identity.Web: AKS workload identity with SignedAssertionFromManagedIdentity: "
    )
    token_lines, token_entry = token_check(checks[-1]["claims"])
    assert lines == [
        *settings_lines(IDS.app, env["AzureAd__Instance"], source),
        f"[note] {note['detail']}",
        f"[ ok ] host: aks ({aks_vars})",
        f"[ ok ] credential source: {source}",
        f"[ ok ] service-account token: issuer {CLUSTER_ISSUER}, subject {sa}",
        f"{PAD}{mi_fic}",
        f"[ ok ] assertion: issuer {ISSUER}, subject {IDS.aks_principal}, audience {EXCHANGE_APP_ID}",
        f"{PAD}{app_fic}",
        f"{PAD}(tokens name the audience by its app ID {EXCHANGE_APP_ID}; FICs use the URI)",
        f"{PAD}assertion expires <time>",
        *token_lines,
    ]
    assert [c["check"] for c in checks] == [
        "settings",
        "note",
        "host",
        "credential source",
        "service-account token",
        "assertion",
        f"token for {ARM}",
    ]
    assert untimed(checks[2:5]) == [
        {"status": "ok", "check": "host", "detail": f"aks ({aks_vars})", "info": []},
        {"status": "ok", "check": "credential source", "detail": source, "info": []},
        {
            "status": "ok",
            "check": "service-account token",
            "detail": f"issuer {CLUSTER_ISSUER}, subject {sa}",
            "info": [mi_fic],
        },
    ]
    assert untimed(checks[-1]) == token_entry


def test_doctor_on_a_vm_names_the_imds_host_and_its_endpoint_variable(
    emulator: Emulator, host: HostFn, capsys: pytest.CaptureFixture[str]
) -> None:
    env = host("vm", "web")
    code, lines, document = run_json(capsys, "doctor")
    assert code == 0
    endpoint = env["AZURE_POD_IDENTITY_AUTHORITY_HOST"]
    assert lines[3:5] == [
        f"[ ok ] host: imds (AZURE_POD_IDENTITY_AUTHORITY_HOST={endpoint})",
        f"[ ok ] credential source: #0 SignedAssertionFromManagedIdentity ({IDS.identity})",
    ]
    assert document["checks"][1] == {
        "status": "ok",
        "check": "host",
        "detail": f"imds (AZURE_POD_IDENTITY_AUTHORITY_HOST={endpoint})",
        "info": [],
    }


def test_doctor_on_a_vm_without_identity_variables_says_it_uses_imds_and_shows_no_assertion(
    emulator: Emulator, host: HostFn, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client secret needs no identity endpoint: the host is plain IMDS and there is no assertion.
    env = host(
        "vm",
        "web",
        AzureAd__ClientCredentials__0__SourceType="ClientSecret",
        AzureAd__ClientCredentials__0__ClientSecret="dev-only-secret-value",
    )
    monkeypatch.delenv("AZURE_POD_IDENTITY_AUTHORITY_HOST")
    monkeypatch.delenv("AzureAd__ClientCredentials__0__ManagedIdentityClientId")
    code, lines, document = run_json(capsys, "doctor")
    assert code == 0
    imds = "no identity variables: using IMDS at http://169.254.169.254 (Azure VMs and VM scale sets)"
    token_lines, token_entry = token_check(document["checks"][-1]["claims"])
    assert lines == [
        *settings_lines(IDS.app, env["AzureAd__Instance"], "#0 ClientSecret"),
        "[ ok ] host: imds",
        f"{PAD}{imds}",
        "[ ok ] credential source: #0 ClientSecret",
        *token_lines,
    ]
    assert untimed(document["checks"][1:]) == [
        {"status": "ok", "check": "host", "detail": "imds", "info": [imds]},
        {"status": "ok", "check": "credential source", "detail": "#0 ClientSecret", "info": []},
        token_entry,
    ]
    assert document["passed"] is True


def test_doctor_with_no_loadable_source_lists_each_source_its_reason_and_its_fix(
    emulator: Emulator, host: HostFn, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = host(
        "appservice",
        "web",
        AzureAd__ClientCredentials__1__SourceType="SignedAssertionFilePath",
        AzureAd__ClientCredentials__1__SignedAssertionFileDiskPath="/nonexistent/token",
    )
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("IDENTITY_HEADER")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")  # nothing listens there
    code, lines, document = run_json(capsys, "doctor")
    assert code == 1
    mi = f"#0 SignedAssertionFromManagedIdentity ({IDS.identity})"
    file = "#1 SignedAssertionFilePath (/nonexistent/token)"
    mi_reason = (
        "The managed identity endpoint http://127.0.0.1:9/metadata/identity/oauth2/token did not answer "
        "(ConnectionError: Connection refused; 2 attempts)."
    )
    mi_fix = (
        "This host has no managed identity endpoint (not on Azure, or managed identity is off). "
        "On a laptop or in CI, add a fallback source after this one, e.g. SignedAssertionFilePath "
        "or ClientSecret, or run the certless emulator."
    )
    # The source is named once, on its own line: its reason does not repeat the label.
    file_reason = "cannot read the token file '/nonexistent/token' (No such file or directory)."
    file_fix = (
        "On AKS, label the pod azure.workload.identity/use=true and use a service account annotated with "
        "azure.workload.identity/client-id; elsewhere set SignedAssertionFileDiskPath."
    )
    assert lines == [
        *settings_lines(IDS.app, env["AzureAd__Instance"], mi, file),
        "[ ok ] host: imds (AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:9)",
        "[FAIL] no credential source could be loaded:",
        f"       {mi}",
        f"         {mi_reason}",
        f"    fix: {mi_fix}",
        f"       {file}",
        f"         {file_reason}",
        f"    fix: {file_fix}",
    ]
    assert document["passed"] is False
    assert document["checks"][1:] == [
        {
            "status": "ok",
            "check": "host",
            "detail": "imds (AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:9)",
            "info": [],
        },
        {
            "status": "fail",
            "check": "credential source",
            "detail": "no credential source could be loaded",
            "sources": [
                {"source": mi, "detail": mi_reason, "fix": mi_fix},
                {"source": file, "detail": file_reason, "fix": file_fix},
            ],
            "info": [],
        },
    ]


def test_doctor_on_a_fic_mismatch_shows_entras_refusal_and_the_fix_and_exits_1(
    emulator: Emulator, host: HostFn, capsys: pytest.CaptureFixture[str]
) -> None:
    host("appservice", "lonely")
    code, lines, document = run_json(capsys, "doctor")
    assert code == 1
    app, subject = IDS.app_unfederated, IDS.other_principal
    assert lines[5:7] == [
        f"[ ok ] assertion: issuer {ISSUER}, subject {subject}, audience {EXCHANGE_APP_ID}",
        f"{PAD}the app registration {app} must hold a FIC: "
        f"issuer={ISSUER} subject={subject} audience={EXCHANGE}",
    ]
    refusal = (
        f"Microsoft Entra refused the token request for the app registration {app} (AADSTS70021, "
        "invalid_request): AADSTS70021: No matching federated identity record found for presented assertion. "
        f"Assertion Issuer: '{ISSUER}'. Assertion Subject: '{subject}'. "
        f"Assertion Audience: '{EXCHANGE_APP_ID}'. "
        "https://learn.microsoft.com/entra/workload-id/workload-identity-federation [trace ID "
    )
    fix = (
        f"Compare the federated identity credentials on the app registration {app} with the assertion: "
        f"issuer '{ISSUER}', subject '{subject}', audience '{EXCHANGE_APP_ID}'. "
        "Issuer and subject must match exactly (the subject must be the managed identity's principal "
        "(object) ID, not its client ID; mind a trailing '/' on the issuer) "
        f"and the audience must be {EXCHANGE}. A FIC created minutes ago may still be propagating: "
        "set AzureAd:FicPropagationRetrySeconds to retry."
    )
    failed = document["checks"][-1]
    assert lines[-3:-1] == [f"[FAIL] token for {ARM}", f"{PAD}{failed['detail']}"]
    assert lines[-1] == f"  fix: {fix}"
    assert failed["detail"].startswith(refusal)
    assert re.fullmatch(
        r"\[trace ID [0-9a-f-]{36}, correlation ID [0-9a-f-]{36}\]", failed["detail"][len(refusal) - 10 :]
    )
    assert failed == {
        "status": "fail",
        "check": f"token for {ARM}",
        "detail": failed["detail"],
        "fix": fix,
        "info": [],
    }
    assert document["passed"] is False
    assert [c["status"] for c in document["checks"]] == ["ok", "ok", "ok", "ok", "fail"]


@pytest.mark.parametrize("command", [["doctor"], ["token", "--scope", STORAGE]])
def test_an_invalid_client_id_is_one_error_line_naming_the_setting_and_what_it_must_be(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    monkeypatch.setenv("AzureAd__ClientId", "not-a-guid")
    monkeypatch.setenv("AzureAd__TenantId", TENANT)
    out = io.StringIO()
    assert main(command, out=out) == 2
    assert out.getvalue() == ""
    assert capsys.readouterr() == (
        "",
        "error: AzureAd setting AzureAd:ClientId='not-a-guid' is invalid: expected the app registration's "
        "client ID (a GUID)\n",
    )


def test_token_shows_scope_expiry_fingerprint_and_claims_but_not_the_token(
    emulator: Emulator, host: HostFn, capsys: pytest.CaptureFixture[str]
) -> None:
    host("appservice", "web")
    out = io.StringIO()
    assert main(["token", "--scope", STORAGE, "--json"], out=out) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert captured.err == ""
    assert "eyJ" not in out.getvalue() + captured.out
    claims = document["claims"]
    assert sorted(document) == ["claims", "expiresOn", "fingerprint", "scope"]
    assert (document["scope"], document["expiresOn"]) == (STORAGE, claims["exp"])
    assert re.fullmatch(r"sha256:[0-9a-f]{10}", document["fingerprint"])
    assert sorted(claims) == ["appid", "aud", "exp", "iat", "iss", "nbf", "oid", "sub", "tid"]
    assert (claims["appid"], claims["aud"], claims["tid"]) == (IDS.app, "https://storage.azure.com", TENANT)
    assert claims["iss"] == f"https://sts.windows.net/{TENANT}/"
    assert out.getvalue().splitlines() == [
        f"scope      {STORAGE}",
        f"expires    {utc(claims['exp'])} (in 60 min)",
        f"token      {document['fingerprint']} (use --show-token)",
        "claims",
        *(
            f"  {k:<10} {utc(claims[k]) if k in ('iat', 'nbf', 'exp') else claims[k]}"
            for k in ("iss", "sub", "aud", "appid", "oid", "tid", "iat", "nbf", "exp")
        ),
    ]


def test_token_with_show_token_prints_it_last_and_drops_the_hint(
    emulator: Emulator, host: HostFn, capsys: pytest.CaptureFixture[str]
) -> None:
    host("appservice", "web")
    out = io.StringIO()
    assert main(["token", "--scope", STORAGE, "--show-token"], out=out) == 0
    assert capsys.readouterr() == ("", "")
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines[:4]] == ["scope", "expires", "token", "claims"]
    assert re.fullmatch(r"token      sha256:[0-9a-f]{10}", lines[2])
    assert len(lines) == 14  # 4 header lines, 9 claims, the token
    assert lines[-1].startswith("eyJ") and lines[-1].count(".") == 2
    assert sum("eyJ" in line for line in lines) == 1


def test_token_json_with_show_token_puts_the_token_in_the_document_only(
    emulator: Emulator, host: HostFn, capsys: pytest.CaptureFixture[str]
) -> None:
    host("appservice", "web")
    out = io.StringIO()
    assert main(["token", "--scope", STORAGE, "--show-token", "--json"], out=out) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert sorted(document) == ["claims", "expiresOn", "fingerprint", "scope", "token"]
    assert document["token"].startswith("eyJ") and captured.out.count(document["token"]) == 1
    assert "eyJ" not in out.getvalue() + captured.err
    assert out.getvalue().splitlines()[2] == f"token      {document['fingerprint']}"


def test_doctor_on_aks_direct_shows_the_fic_the_app_must_hold_for_the_service_account(
    emulator: Emulator, host: HostFn, capsys: pytest.CaptureFixture[str]
) -> None:
    # SignedAssertionFilePath: the service-account token is the assertion, no managed identity hop.
    env = host("aks-direct", "ingest")
    code, lines, document = run_json(capsys, "doctor")
    assert code == 0
    source = "#0 SignedAssertionFilePath ($AZURE_FEDERATED_TOKEN_FILE)"
    sa = "system:serviceaccount:ingest:ingest-sa"
    checks = document["checks"]
    assert [c["check"] for c in checks] == [
        "settings",
        "host",
        "credential source",
        "assertion",
        f"token for {ARM}",
    ]
    assert lines[4] == f"[ ok ] credential source: {source}"
    # A service-account token's audience is a list: shown as the FIC line shows it, not as a Python list.
    assert lines[5] == f"[ ok ] assertion: issuer {CLUSTER_ISSUER}, subject {sa}, audience {EXCHANGE}"
    assert checks[3]["detail"] == lines[5].removeprefix("[ ok ] assertion: ")
    assert untimed(checks[3]["info"]) == [
        f"the app registration {IDS.app_direct} must hold a FIC: issuer={CLUSTER_ISSUER} subject={sa} "
        f"audience={EXCHANGE}",
        "assertion expires <time>",
    ]
    assert lines[6:8] == [f"{PAD}{line}" for line in untimed(checks[3]["info"])]
    assert checks[1]["detail"].startswith(
        f"aks (AZURE_FEDERATED_TOKEN_FILE={env['AZURE_FEDERATED_TOKEN_FILE']}, "
    )
