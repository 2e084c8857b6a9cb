"""The two sample apps of ``examples/`` as real processes next to the emulator and Azurite.

web stack config (the web app's loopback redirect URI on a free port) ─► plan ─► emulator with test users
─► notes API (uvicorn) and web app (flask), each with only its compute's environment ─► a browser or an
HTTP client signs a user in. Shared by ``demo --web`` and the e2e tests.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import yaml

from certless_ops.demo import chain
from certless_ops.demo.chain import REPO_ROOT, ChainError

WEB_STACK = REPO_ROOT / "tests" / "e2e" / "stacks" / "Pulumi.web.yaml"
EXAMPLES = REPO_ROOT / "examples"
WEB_APP_DIR = EXAMPLES / "web-app"
NOTES_API_DIR = EXAMPLES / "notes-api"
WEB_WORKLOAD = "orders-web"  # signs users in (App Service)
API_WORKLOAD = "orders-api"  # the notes API it calls for them (Container Apps)
NOTES_ROLE = "Storage Blob Data Contributor"
# The storage account Azurite stands in for; the web stack grants no app a role on it: the users hold them.
NOTES_ACCOUNT_ID = (
    "/subscriptions/7d4e1a2b-3c5f-4a6b-9c8d-0e1f2a3b4c5d/resourceGroups/rg-certless-web/providers/"
    "Microsoft.Storage/storageAccounts/devstoreaccount1"
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redirect_uri(port: int) -> str:
    return f"http://localhost:{port}/signin-oidc"


def web_stack_config(dest: Path, port: int, source: Path = WEB_STACK) -> Path:
    """The web stack's config with the web app's loopback redirect URI on ``port`` (Entra matches a
    redirect URI exactly: the app must be reached at the registered origin)."""
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    web = doc["config"]["certless:apps"][WEB_WORKLOAD]["web"]
    uris = [u for u in web["redirectUris"] if not u.startswith("http://localhost")]
    web["redirectUris"] = [*uris, redirect_uri(port)]
    dest.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return dest


def user_assignments(user_oids: Mapping[str, str]) -> list[Any]:
    """Each test user's role on the notes account (what an admin assigns in Azure; not the program's)."""
    from certless_ops.storage_rbac import Assignment
    from policy.rules import roles

    role = roles.ROLES[NOTES_ROLE]
    return [
        Assignment(oid.lower(), role, NOTES_ACCOUNT_ID, f"user-{name}") for name, oid in user_oids.items()
    ]


def api_scope(plan: Mapping[str, Any]) -> str:
    client_id = plan["outputs"]["workloads"][API_WORKLOAD]["appClientId"]
    return f"api://{client_id}/access_as_user"


@dataclass
class AppProcess:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    _log_file: IO[bytes] | None = field(default=None, repr=False)

    def last_lines(self, n: int = 5) -> str:
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(lines[-n:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def _wait_ready(app: AppProcess, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.proc.poll() is not None:
            raise ChainError(f"the {app.name} exited with {app.proc.returncode}: {app.last_lines()}")
        try:
            with urllib.request.urlopen(f"{app.url}{path}", timeout=2):  # noqa: S310 (loopback http)
                return
        except urllib.error.HTTPError:
            return  # it answers (a 401 or a redirect to sign in is an answer)
        except OSError:
            time.sleep(0.1)
    raise ChainError(f"the {app.name} did not answer on {app.url} within {timeout:.0f}s: {app.last_lines()}")


def _start(
    name: str, args: list[str], *, cwd: Path, env: Mapping[str, str], url: str, log: Path
) -> AppProcess:
    log_file = open(log, "wb")  # noqa: SIM115 - closed by AppProcess.stop
    proc = subprocess.Popen(
        args, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
    )
    return AppProcess(name, url, proc, log, log_file)


@dataclass
class SampleApps:
    web: AppProcess
    api: AppProcess

    @property
    def web_url(self) -> str:
        return self.web.url

    @property
    def api_url(self) -> str:
        return self.api.url


def sample_envs(
    plan: Mapping[str, Any],
    emu: Any,
    *,
    storage_url: str,
    storage_ca: Path | str,
    web_port: int,
    api_port: int,
    workdir: Path,
) -> tuple[dict[str, str], dict[str, str]]:
    """(web app env, notes API env): each compute's AzureAd settings and host identity endpoint, plus the
    app's own settings (where the API and the storage account are)."""
    workloads = chain.workloads(plan)
    web_w, api_w = workloads[WEB_WORKLOAD], workloads[API_WORKLOAD]
    web_env = chain.app_env(
        chain.compute_settings(web_w),
        emu.host_env(chain.host_kind(web_w), WEB_WORKLOAD),
        account_url=storage_url,
        storage_ca=storage_ca,
        label=WEB_WORKLOAD,
    )
    web_env.update(
        {
            "WEB_APP_BASE_URL": f"http://localhost:{web_port}",
            "WEB_APP_SESSION_DIR": str(workdir / "web-app-sessions"),
            "DownstreamApi__BaseUrl": f"http://127.0.0.1:{api_port}",
            "DownstreamApi__Scopes": api_scope(plan),
        }
    )
    api_env = chain.app_env(
        chain.compute_settings(api_w),
        emu.host_env(chain.host_kind(api_w), API_WORKLOAD),
        account_url=storage_url,
        storage_ca=storage_ca,
        label=API_WORKLOAD,
    )
    api_env.update({"Notes__AccountUrl": storage_url, "Notes__StorageCaBundle": str(storage_ca)})
    for env in (web_env, api_env):
        env["PYTHONUNBUFFERED"] = "1"
        if "TMPDIR" in os.environ:
            env["TMPDIR"] = os.environ["TMPDIR"]
    return web_env, api_env


@contextlib.contextmanager
def sample_apps(
    plan: Mapping[str, Any],
    emu: Any,
    *,
    storage_url: str,
    storage_ca: Path | str,
    web_port: int,
    workdir: Path,
    timeout: float = 60.0,
) -> Iterator[SampleApps]:
    """Start the notes API and the web app; stop both on exit (also on errors and Ctrl-C)."""
    api_port = free_port()
    web_env, api_env = sample_envs(
        plan,
        emu,
        storage_url=storage_url,
        storage_ca=storage_ca,
        web_port=web_port,
        api_port=api_port,
        workdir=workdir,
    )
    started: list[AppProcess] = []
    try:
        uvicorn = ["-m", "uvicorn", "notes_api:app", "--host", "127.0.0.1", "--port", str(api_port)]
        api = _start(
            "notes API",
            [sys.executable, *uvicorn],
            cwd=NOTES_API_DIR,
            env=api_env,
            url=f"http://127.0.0.1:{api_port}",
            log=workdir / "notes-api.log",
        )
        started.append(api)
        flask = ["-m", "flask", "--app", "web_app", "run", "--host", "127.0.0.1", "--port", str(web_port)]
        web = _start(
            "web app",
            [sys.executable, *flask],
            cwd=WEB_APP_DIR,
            env=web_env,
            url=f"http://localhost:{web_port}",
            log=workdir / "web-app.log",
        )
        started.append(web)
        _wait_ready(api, "/notes", timeout)
        _wait_ready(web, "/favicon.ico", timeout)
        yield SampleApps(web, api)
    finally:
        for app in reversed(started):
            app.stop()
