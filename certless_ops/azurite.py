"""Azurite's blob service as a child process, the way the e2e tests and the demo need it.

HTTPS only (Azurite refuses bearer tokens over plain HTTP) with a certificate from a trustme CA made
here, ``--oauth basic`` so bearer tokens are checked, loopback only, a free port, in-memory storage,
no telemetry. ``stop()`` ends the whole process group and removes every file the harness wrote.

Azurite 3.35.0 (pinned in package.json; 3.36+ needs Node.js 21+) checks a bearer token in basic mode
without its signature: ``iat``, ``nbf`` and ``exp`` must be present and ``nbf <= now <= exp``; ``iss``
must start with ``https://sts.windows.net/`` (or the sovereign-cloud and PPE STS hosts), so a v1.0
access token as Entra issues for Storage; ``aud`` must be ``https://storage.azure.com[/]``, Storage's
app ID ``e406a681-f3d4-42a8-90b6-c2b029497af1`` or ``https://<account>.blob.core.windows.net[/]``.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import trustme

from certless_ops.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "devstoreaccount1"
MIN_NODE_MAJOR = 20
_MAIN_JS = Path("node_modules", "azurite", "dist", "src", "blob", "main.js")
_STOP_GRACE_SECONDS = 5.0


class AzuriteMissing(UserError):
    """Node.js or Azurite is not installed: the message says, in one line, what to install and how."""


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for a loopback HTTPS server and the CA that clients must trust."""

    ca_pem: Path
    cert_pem: Path
    key_pem: Path


def make_loopback_tls(directory: Path, ca: trustme.CA | None = None) -> TlsFiles:
    """Write a CA and a server certificate for 127.0.0.1 / localhost into ``directory``."""
    ca = ca or trustme.CA(organization_name="certless local test CA")
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    files = TlsFiles(directory / "ca.pem", directory / "azurite-cert.pem", directory / "azurite-key.pem")
    ca.cert_pem.write_to_path(str(files.ca_pem))
    leaf.private_key_pem.write_to_path(str(files.key_pem))
    # The chain file carries the leaf first, then the CA, as Node's TLS server expects.
    with open(files.cert_pem, "wb") as fh:
        for blob in leaf.cert_chain_pems:
            fh.write(blob.bytes())
    files.key_pem.chmod(0o600)
    return files


def locate_azurite(root: Path = REPO_ROOT) -> tuple[str, Path]:
    """Return (node executable, Azurite blob entry script), or raise AzuriteMissing with the fix."""
    node = shutil.which("node")
    if node is None:
        raise AzuriteMissing(
            f"Node.js is not installed: Azurite needs Node.js {MIN_NODE_MAJOR}+ with npm; install it "
            "(e.g. 'apt-get install nodejs npm'), then run './dev setup'."
        )
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    match = re.fullmatch(r"v(\d+)\.\d+\.\d+.*", version)
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        raise AzuriteMissing(
            f"Node.js at {node} is {version or 'unknown'}, Azurite needs Node.js {MIN_NODE_MAJOR}+: "
            "install a newer one (e.g. from your package manager), then run './dev setup'."
        )
    main_js = root / _MAIN_JS
    if not main_js.is_file():
        raise AzuriteMissing(
            f"Azurite is not installed in {root / 'node_modules'}: run './dev setup' "
            "(it runs 'npm ci' from package-lock.json)."
        )
    return node, main_js


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AzuriteError(RuntimeError):
    """Azurite was installed but did not start or answer."""


class Azurite:
    """One Azurite blob service; use as a context manager or call ``start()`` / ``stop()``."""

    def __init__(
        self,
        *,
        root: Path = REPO_ROOT,
        tls: TlsFiles | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self._root = root
        self._given_tls = tls
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._tls: TlsFiles | None = None
        self._port: int | None = None

    # -- what clients need -------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise AzuriteError("Azurite is not running")
        return self._port

    @property
    def account_url(self) -> str:
        """The blob endpoint of the emulator's account, path-style as Azurite serves IP hosts."""
        return f"https://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def ca_pem(self) -> Path:
        """The CA file to pass as ``connection_verify`` so the blob client verifies Azurite's cert."""
        if self._tls is None:
            raise AzuriteError("Azurite is not running")
        return self._tls.ca_pem

    @property
    def tls(self) -> TlsFiles:
        """The CA and the loopback server certificate, for a proxy that stands in front of Azurite."""
        if self._tls is None:
            raise AzuriteError("Azurite is not running")
        return self._tls

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def workdir(self) -> Path | None:
        return self._workdir

    def blobs(self, container: str, tenant_id: str) -> dict[str, dict[str, str]]:
        """The container's blobs (name -> metadata), read straight from Azurite as its administrator,
        past any RBAC check in front of it: what is really stored, whoever wrote it."""
        from azure.storage.blob import BlobServiceClient

        client = BlobServiceClient(
            self.account_url, credential=_BasicModeAdmin(tenant_id), connection_verify=str(self.ca_pem)
        )
        with client:
            box = client.get_container_client(container)
            if not box.exists():
                return {}
            return {b.name: dict(b.metadata or {}) for b in box.list_blobs(include=["metadata"])}

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Azurite:
        node, main_js = locate_azurite(self._root)
        self._workdir = Path(tempfile.mkdtemp(prefix="certless-azurite-"))
        try:
            self._tls = self._given_tls or make_loopback_tls(self._workdir)
            # A port picked free can be taken before Azurite binds it: try a few.
            for _attempt in range(3):
                self._port = _free_loopback_port()
                self._spawn(node, main_js)
                if self._wait_ready():
                    return self
                self._kill_group()
            raise AzuriteError(f"Azurite did not start: {self._log_tail()}")
        except BaseException:
            self.stop()
            raise

    def _spawn(self, node: str, main_js: Path) -> None:
        assert self._workdir is not None and self._tls is not None
        location = self._workdir / "workspace"
        location.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k != "AZURITE_ACCOUNTS"}
        args = [
            node,
            str(main_js),
            "--blobHost", "127.0.0.1",
            "--blobPort", str(self._port),
            "--cert", str(self._tls.cert_pem),
            "--key", str(self._tls.key_pem),
            "--oauth", "basic",
            "--inMemoryPersistence",  # cannot be combined with --location; cwd is our temp dir
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--silent",
        ]  # fmt: skip
        with open(self._workdir / "azurite.log", "ab") as log:
            # Own session: Ctrl-C in the terminal does not reach it; stop() ends the whole group.
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=location,
                env=env,
                start_new_session=True,
            )

    def _wait_ready(self) -> bool:
        assert self._proc is not None and self._tls is not None
        context = ssl.create_default_context(cafile=str(self._tls.ca_pem))
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=context, timeout=2)
            try:
                # Any HTTP answer (403 without credentials) proves the TLS listener is up.
                conn.request("GET", f"/{ACCOUNT}?restype=service&comp=properties")
                conn.getresponse().read()
                return True
            except (OSError, http.client.HTTPException):
                time.sleep(0.1)
            finally:
                conn.close()
        raise AzuriteError(f"Azurite did not answer on port {self.port} within {self._startup_timeout:.0f} s")

    def _log_tail(self) -> str:
        if self._workdir is None:
            return "no log"
        log = self._workdir / "azurite.log"
        text = log.read_text(errors="replace").strip() if log.exists() else ""
        return text.splitlines()[-1] if text else "no output"

    def _kill_group(self) -> None:
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=_STOP_GRACE_SECONDS)
        # Whatever is left in the group (the leader included, if it ignored SIGTERM) is killed.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=_STOP_GRACE_SECONDS)
        self._proc = None

    def stop(self) -> None:
        """Stop Azurite and remove its temp dir; safe to call more than once."""
        self._kill_group()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self._port = None
        self._tls = None

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _BasicModeAdmin:
    """A Storage token that ``--oauth basic`` accepts (it checks issuer, audience and lifetime, not the
    signature): the harness's own key to the emulated account, never handed to an app."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        import jwt
        from azure.core.credentials import AccessToken

        now = int(time.time())
        claims = {
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "aud": "https://storage.azure.com",
            "iat": now,
            "nbf": now - 5,
            "exp": now + 600,
            "oid": "00000000-0000-0000-0000-00000000ad01",
        }
        token = jwt.encode(claims, "azurite-basic-mode-skips-signatures", algorithm="HS256")
        return AccessToken(token, now + 600)
