"""The `./dev emulate` eval line: only the workload's AzureAd__*, its host's variables and one CA bundle."""

from __future__ import annotations

import subprocess

from certless_ops.emulate.shell import CA_VARIABLES, HOST_VARIABLES, app_environment, eval_line

APP_SERVICE = {
    "AzureAd__Instance": "https://127.0.0.1:8443/",
    "AzureAd__ClientId": "11111111-2222-3333-4444-555555555555",
    "IDENTITY_ENDPOINT": "http://127.0.0.1:8081/msi/token",
    "IDENTITY_HEADER": "h3ader",
}


def _exported_by_bash(line: str, before: str = "") -> dict[str, str]:
    script = f'{before}\neval "$LINE"\nenv -0'
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", script],
        env={"LINE": line, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    pairs = (item.split("=", 1) for item in done.stdout.split("\0") if "=" in item)
    return {k: v for k, v in pairs if k not in {"LINE", "PATH", "PWD", "SHLVL", "_", "OLDPWD"}}


def test_the_line_exports_the_workloads_settings_its_host_and_one_ca_bundle_only() -> None:
    env = app_environment(APP_SERVICE, ca_bundle="/run/certless/ca.pem")
    exported = _exported_by_bash(eval_line(env))
    assert exported == {**APP_SERVICE, **dict.fromkeys(CA_VARIABLES, "/run/certless/ca.pem")}
    for name in exported:
        assert name.startswith("AzureAd__") or name in HOST_VARIABLES or name in CA_VARIABLES, name


def test_a_shell_that_ran_an_earlier_line_loses_the_retired_storage_variable() -> None:
    env = app_environment(APP_SERVICE, ca_bundle="/run/certless/ca.pem")
    earlier = "export CERTLESS_STORAGE_ACCOUNT_URL=https://127.0.0.1:10000/devstoreaccount1 AZURE_CLIENT_ID=x"
    exported = _exported_by_bash(eval_line(env), before=earlier)
    assert "CERTLESS_STORAGE_ACCOUNT_URL" not in exported
    assert "AZURE_CLIENT_ID" not in exported  # an AKS host's variable, not App Service's
