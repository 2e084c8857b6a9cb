"""``python -m certless token`` and ``doctor``."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from certless._cli import main
from emulator import Emulator

from .support import CLUSTER_ISSUER, IDS, ISSUER

HostFn = Callable[..., dict[str, str]]


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_token_prints_expiry_and_claims_but_not_the_token(emulator: Emulator, host: HostFn) -> None:
    host("appservice", "web")
    code, text = run("token", "--scope", "https://storage.azure.com/.default")
    assert code == 0
    assert "expires" in text and "UTC" in text
    assert IDS.app in text  # the appid claim
    assert "eyJ" not in text  # no JWT in the output


def test_token_with_show_token_prints_it(emulator: Emulator, host: HostFn) -> None:
    host("appservice", "web")
    code, text = run("token", "--scope", "https://storage.azure.com/.default", "--show-token")
    assert code == 0
    assert text.strip().splitlines()[-1].startswith("eyJ")


def test_doctor_shows_the_fic_the_app_must_hold_next_to_the_assertion(
    emulator: Emulator, host: HostFn
) -> None:
    host("appservice", "web")
    code, text = run("doctor")
    assert code == 0
    assert "host: appservice" in text
    assert (
        f"must hold a FIC: issuer={ISSUER} subject={IDS.identity_principal} audience=api://AzureADTokenExchange"
        in text
    )
    # The assertion's own claims as the identity issued them (aud: the token-exchange app's ID).
    assert (
        f"assertion: issuer {ISSUER}, subject {IDS.identity_principal}, "
        "audience fb60f99c-7a34-4190-8149-302f77469936\n" in text
    )
    assert "[FAIL]" not in text


def test_doctor_on_aks_shows_both_hops(emulator: Emulator, host: HostFn) -> None:
    env = host("aks-via-identity", "reports")
    code, text = run("doctor")
    assert code == 0
    assert f"issuer={CLUSTER_ISSUER} subject=system:serviceaccount:reports:reports-sa" in text
    assert f"subject={IDS.aks_principal}" in text
    # The host line shows what workload identity injected into the pod.
    (host_line,) = [line for line in text.splitlines() if line.startswith("[ ok ] host: ")]
    assert host_line.startswith("[ ok ] host: aks (")
    assert f"AZURE_FEDERATED_TOKEN_FILE={env['AZURE_FEDERATED_TOKEN_FILE']}" in host_line


def test_doctor_off_aks_shows_only_the_identity_endpoint_variables(
    emulator: Emulator, host: HostFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = host("appservice", "web")
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")  # the SDK's, not ours
    code, text = run("doctor")
    assert code == 0
    (host_line,) = [line for line in text.splitlines() if line.startswith("[ ok ] host: ")]
    assert host_line == f"[ ok ] host: appservice (IDENTITY_ENDPOINT={env['IDENTITY_ENDPOINT']})"


def test_doctor_turns_a_fic_mismatch_into_a_fix_and_exits_non_zero(emulator: Emulator, host: HostFn) -> None:
    host("appservice", "lonely")
    code, text = run("doctor")
    assert code == 1
    assert "[FAIL] token for" in text
    assert "AADSTS70021" in text
    assert "fix: " in text and "principal (object) ID" in text
    assert text.count("Compare the federated identity credentials") == 1


def test_doctor_off_azure_lists_each_source_and_its_fix(
    emulator: Emulator, host: HostFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    host("appservice", "web")
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("IDENTITY_HEADER")
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")  # nothing listens there
    code, text = run("doctor")
    assert code == 1
    assert "no credential source could be loaded" in text
    assert "fallback" in text


@pytest.mark.parametrize("command", [["doctor"], ["token", "--scope", "https://storage.azure.com/.default"]])
def test_bad_settings_are_a_configuration_error_exit_2_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    monkeypatch.setenv("AzureAd__ClientId", "not-a-guid")
    monkeypatch.setenv("AzureAd__TenantId", IDS.tenant)
    code, text = run(*command, "--json")
    assert code == 2
    err = capsys.readouterr()
    assert (text, err.out) == ("", "")  # no report, no JSON document: the command did not run
    (line,) = err.err.strip().splitlines()
    assert "AzureAd:ClientId='not-a-guid'" in line


def test_token_json_has_claims_and_fingerprint_but_not_the_token(
    emulator: Emulator, host: HostFn, capsys: pytest.CaptureFixture[str]
) -> None:
    host("appservice", "web")
    assert main(["token", "--scope", "https://storage.azure.com/.default", "--json"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["claims"]["appid"] == IDS.app
    # Who issued it, for whom and to whom, and when: the claims a person checks.
    assert {"iss", "sub", "aud", "oid", "tid", "iat", "nbf", "exp"} <= set(document["claims"])
    assert document["claims"]["sub"] == document["claims"]["oid"]  # app-only: the service principal
    assert document["fingerprint"].startswith("sha256:")
    assert "token" not in document
    assert "eyJ" not in captured.out + captured.err
    assert "expires" in captured.err  # the text report moved to stderr


def test_token_json_with_show_token_holds_it_once(
    emulator: Emulator, host: HostFn, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    host("appservice", "web")
    target = tmp_path / "token.json"
    scope = "https://storage.azure.com/.default"
    assert main(["token", "--scope", scope, "--show-token", "--json", str(target)]) == 0
    assert json.loads(target.read_text())["token"].startswith("eyJ")
    assert "eyJ" not in capsys.readouterr().out  # printed to the file only


def test_doctor_json_lists_each_check_and_its_fix(
    emulator: Emulator, host: HostFn, capsys: pytest.CaptureFixture[str]
) -> None:
    host("appservice", "lonely")
    assert main(["doctor", "--json"]) == 1
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["passed"] is False
    failed = [c for c in document["checks"] if c["status"] == "fail"]
    assert [c["check"] for c in failed] == ["token for https://management.azure.com/.default"]
    assert "AADSTS70021" in failed[0]["detail"]
    assert "principal (object) ID" in failed[0]["fix"]
    assert "[FAIL] token for" in captured.err
    assert "eyJ" not in captured.out


def test_doctor_json_passes_with_the_token_claims(
    emulator: Emulator, host: HostFn, capsys: pytest.CaptureFixture[str]
) -> None:
    host("appservice", "web")
    assert main(["doctor", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["passed"] is True
    assert document["checks"][-1]["claims"]["appid"] == IDS.app


def test_module_entry_point_runs_without_a_traceback_on_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AzureAd__ClientId", "not-a-guid")
    result = subprocess.run(
        [sys.executable, "-m", "certless", "token", "--scope", "https://storage.azure.com/.default"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "AzureAd:ClientId" in result.stderr


def test_doctor_with_no_settings_at_all_says_none_were_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no appsettings.json here, no AzureAd__* variables (autouse fixture)
    code, text = run("doctor")
    assert code == 2 and text == ""
    (line,) = capsys.readouterr().err.splitlines()
    assert "no AzureAd settings" in line
    assert "AzureAd__" in line and "appsettings.json" in line


def test_settings_without_a_client_id_still_name_that_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AzureAd__TenantId", IDS.tenant)
    assert run("doctor")[0] == 2
    assert "AzureAd:ClientId=(not set)" in capsys.readouterr().err
