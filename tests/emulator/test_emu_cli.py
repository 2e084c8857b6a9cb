# mypy: disable-error-code="no-untyped-def"
# (pyproject relaxes this for tests.*; these files are not under a tests package, so say it here)
"""`python -m emulator`: serve, print a host's env, inject faults, refuse non-loopback, stop cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests
from emu_helpers import PLAN, claims

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "emulator", *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def served(tmp_path) -> Iterator[tuple[subprocess.Popen[str], Path, list[str]]]:
    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulator",
            "--plan",
            str(PLAN),
            "--state",
            str(state),
            "--fault",
            "imds=429",
            "--user",
            "alice",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("Press Ctrl-C"):
            break
    else:
        pytest.fail(f"emulator did not start: {proc.stderr.read() if proc.stderr else ''}")
    yield proc, state, lines
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


def test_serve_prints_addresses_and_env_works(served):
    proc, state, lines = served
    printed = dict(line.split(":", 1) for line in lines if ":" in line and not line.startswith("AKS"))
    assert printed["Entra (authority host)"].strip().startswith("https://127.0.0.1:")
    ca = printed["CA bundle"].strip()
    assert Path(ca).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert oct(state.stat().st_mode & 0o777) == "0o600"

    exported = run_cli("env", "--host", "appservice", "--workload", "orders", "--state", str(state))
    assert exported.returncode == 0, exported.stderr
    assert "export IDENTITY_ENDPOINT=http://127.0.0.1:" in exported.stdout
    assert "export AzureAd__ExtraAuthorityHosts=127.0.0.1:" in exported.stdout

    as_json = run_cli(
        "env", "--host", "appservice", "--workload", "orders", "--state", str(state), "--format", "json"
    )
    env = json.loads(as_json.stdout)
    assert env["AzureAd__Instance"] == printed["Entra (authority host)"].strip() + "/"
    assert env["AzureAd__CaBundle"] == ca
    orders = json.loads(PLAN.read_text())["outputs"]["workloads"]["orders"]
    resp = requests.get(
        env["IDENTITY_ENDPOINT"],
        params={
            "api-version": "2019-08-01",
            "resource": "api://AzureADTokenExchange",
            "client_id": orders["identityClientId"],
        },
        headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"]},
        timeout=10,
    )
    assert claims(resp.json()["access_token"])["sub"] == orders["identityPrincipalId"]

    aks = json.loads(
        run_cli(
            "env", "--host", "aks-direct", "--workload", "ingest", "--state", str(state), "--format", "json"
        ).stdout
    )
    assert (
        claims(Path(aks["AZURE_FEDERATED_TOKEN_FILE"]).read_text())["sub"]
        == "system:serviceaccount:ingest:ingest-sa"
    )

    vm = json.loads(
        run_cli(
            "env", "--host", "vm", "--workload", "orders", "--state", str(state), "--format", "json"
        ).stdout
    )
    # --fault imds=429 was given on the command line: the first IMDS call is throttled.
    first = requests.get(
        vm["AZURE_POD_IDENTITY_AUTHORITY_HOST"] + "/metadata/identity/oauth2/token",
        params={"api-version": "2018-02-01", "resource": "https://storage.azure.com"},
        headers={"Metadata": "true"},
        timeout=10,
    )
    assert first.status_code == 429

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0
    assert "emulator stopped" in (proc.stdout.read() if proc.stdout else "")
    assert not state.exists()
    assert not Path(aks["AZURE_FEDERATED_TOKEN_FILE"]).exists()


def test_env_errors_are_one_line(served):
    _proc, state, _lines = served
    unknown = run_cli("env", "--host", "appservice", "--workload", "nope", "--state", str(state))
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("emulator: error: --workload: got nope, expected one of")
    assert "Traceback" not in unknown.stderr
    not_aks = run_cli("env", "--host", "aks-direct", "--workload", "orders", "--state", str(state))
    assert not_aks.returncode == 2
    assert "--host: got aks-direct" in not_aks.stderr


def test_env_without_a_running_emulator(tmp_path):
    result = run_cli("env", "--host", "vm", "--workload", "orders", "--state", str(tmp_path / "none.json"))
    assert result.returncode == 2
    assert "no running emulator found" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.10", "example.org"])
def test_refuses_non_loopback_addresses(address):
    result = run_cli("--plan", str(PLAN), "--host", address)
    assert result.returncode == 2
    assert f"--host: got {address}" in result.stderr or f"--host: got '{address}'" in result.stderr
    assert "loopback" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_plan_and_bad_fault_are_clear(tmp_path):
    result = run_cli("--plan", str(tmp_path / "nope.json"))
    assert result.returncode == 2
    assert "plan: got" in result.stderr and "expected a readable JSON file" in result.stderr
    result = run_cli("--plan", str(PLAN), "--fault", "imds=teapot")
    assert result.returncode == 2
    assert "fault step: got 'teapot'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_env_refuses_a_different_plan(served, tmp_path):
    _proc, state, _lines = served
    other = tmp_path / "other.json"
    other.write_text(PLAN.read_text())
    result = run_cli(
        "env", "--host", "vm", "--workload", "orders", "--state", str(state), "--plan", str(other)
    )
    assert result.returncode == 2
    assert "--plan: got" in result.stderr
    assert os.environ.get("IDENTITY_HEADER") is None


def test_port_in_use_and_bad_ports_are_clear():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("--plan", str(PLAN), "--ports", f"{port},0,0")
    assert result.returncode == 2
    assert "cannot listen on 127.0.0.1" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_cli("--plan", str(PLAN), "--ports", "8443,http")
    assert result.returncode == 2
    assert "--ports: got '8443,http', expected three port numbers" in result.stderr


def test_cli_fic_propagation_and_token_lifetime(tmp_path):
    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--plan", str(PLAN), "--state", str(state),
         "--fic-propagation", "1h", "--token-lifetime", "imds=2m", "--latency", "imds=1ms", "--log"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("Press Ctrl-C"):
                break
        else:
            pytest.fail(f"emulator did not start: {proc.stderr.read() if proc.stderr else ''}")
        saved = json.loads(state.read_text())
        vm = saved["env"]["orders"]["vm"]
        orders = json.loads(PLAN.read_text())["outputs"]["workloads"]["orders"]
        mi = requests.get(
            vm["AZURE_POD_IDENTITY_AUTHORITY_HOST"] + "/metadata/identity/oauth2/token",
            params={"api-version": "2018-02-01", "resource": "api://AzureADTokenExchange"},
            headers={"Metadata": "true"},
            timeout=10,
        ).json()
        assert mi["expires_in"] == "120"
        resp = requests.post(
            f"{saved['entra_url']}/{vm['AzureAd__TenantId']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": orders["appClientId"],
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": mi["access_token"],
                "scope": "https://storage.azure.com/.default",
            },
            verify=saved["ca_bundle_path"],
            timeout=10,
        )
        assert resp.json()["error_codes"] == [70021]  # the plan's FICs have not propagated yet
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    logged = proc.stdout.read() if proc.stdout else ""
    assert "imds             GET  200 /hosts/orders/metadata/identity/oauth2/token host=orders" in logged
    assert "entra-token      POST 400" in logged and "error_code=70021" in logged
    assert mi["access_token"] not in logged


def test_user_token_prints_only_a_token_the_running_emulator_signed(served, tmp_path):
    _proc, state, lines = served
    doc = json.loads(state.read_text())
    secret = doc["control_secret"]
    assert "Test users:             alice@contoso.example" in lines
    assert not any(secret in line for line in lines)  # never printed by the server
    plan = json.loads(PLAN.read_text())
    client = plan["outputs"]["workloads"]["orders"]["appClientId"]
    api = plan["outputs"]["workloads"]["billing"]["appClientId"]
    tenant = plan["outputs"]["tenantId"]
    for client_arg in (client, "orders"):  # a client ID or a workload name
        done = run_cli(
            "user-token",
            "--user",
            "alice",
            "--client",
            client_arg,
            "--scope",
            f"api://{api}/access_as_user",
            "--state",
            str(state),
        )
        assert done.returncode == 0, done.stderr
        token = done.stdout.strip()
        assert done.stdout == token + "\n" and done.stderr == ""
        jwks = requests.get(
            f"{doc['entra_url']}/{tenant}/discovery/v2.0/keys", verify=doc["ca_bundle_path"], timeout=10
        )
        key = jwt.PyJWKSet.from_dict(jwks.json()).keys[0].key
        decoded = jwt.decode(token, key, algorithms=["RS256"], audience=f"api://{api}")
        assert decoded["appid"] == client  # billing takes v1 tokens in the fixture plan
        assert decoded["scp"] == "access_as_user" and decoded["name"] == "alice"

    refused = run_cli(
        "user-token",
        "--user",
        "alice",
        "--client",
        client,
        "--scope",
        "api://nowhere/x",
        "--state",
        str(state),
    )
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "AADSTS500011" in refused.stderr
    forged = requests.post(
        f"{doc['entra_url']}/_emulator/user-token",
        data={"user": "alice", "client": client, "scope": f"api://{api}/access_as_user"},
        headers={"X-Emulator-Control": "guess"},
        verify=doc["ca_bundle_path"],
        timeout=10,
    )
    assert forged.status_code == 403 and "access_token" not in forged.text


def test_user_token_without_a_running_emulator_is_one_line(tmp_path):
    done = run_cli(
        "user-token",
        "--user",
        "alice",
        "--client",
        "x",
        "--scope",
        "api://x/y",
        "--state",
        str(tmp_path / "none.json"),
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "no running emulator found" in done.stderr


def test_a_second_emulator_on_the_same_state_file_is_refused_in_one_line(served):
    _proc, state, _lines = served
    before = state.read_text()
    second = run_cli("--plan", str(PLAN), "--state", str(state))
    assert second.returncode == 2
    (line,) = second.stderr.strip().splitlines()
    assert line.startswith(
        f"emulator: error: an emulator is already running (pid {_proc.pid}, state file {state})"
    )
    assert state.read_text() == before  # the running one's state is untouched


def test_env_defaults_the_workload_only_when_the_plan_has_one(served):
    _proc, state, _lines = served
    result = run_cli("env", "--host", "appservice", "--state", str(state))
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "--workload" in line and "(not given)" in line and "billing" in line and "orders" in line


def test_the_default_state_file_is_absolute_from_any_folder(tmp_path, monkeypatch):
    from emulator.cli import default_state_path

    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_state_path() == ROOT / ".certless-run" / "emulator.json"
    monkeypatch.setenv("XDG_RUNTIME_DIR", "run")  # a relative value still gives an absolute path
    assert default_state_path() == tmp_path / "run" / "certless-emulator.json"
