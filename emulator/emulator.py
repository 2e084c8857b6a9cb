"""The Emulator: starts the listeners on loopback in a background thread and offers the test controls."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import ssl
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from aiohttp import web

from emulator.aks.projector import ServiceAccountTokenProjector
from emulator.directory import DEFAULT_HOST, Clock, Directory
from emulator.entra.clouds import EntraCloud, cloud_named
from emulator.errors import EmulatorError, RecordsError
from emulator.faults import FaultPlan
from emulator.hosts import HOST_KINDS, LOOPBACK, check_loopback
from emulator.keys import SigningKey, cluster_signing_key, entra_signing_key, process_tls
from emulator.managed_identity.limits import IdentityLimits
from emulator.records import FederatedCredential, Records
from emulator.server import Services, shape_protocol_errors


class Emulator:
    """Local Entra + IMDS + App Service identity endpoint + AKS issuers, enforcing the records' FICs."""

    def __init__(
        self,
        records: Records,
        *,
        faults: FaultPlan | None = None,
        identity_limits: IdentityLimits | None = IdentityLimits(),  # noqa: B008 - immutable
        host: str = LOOPBACK,
        ports: tuple[int, int, int] = (0, 0, 0),
        work_dir: Path | None = None,
        cache_identity_tokens: bool = True,
        on_request: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.records = records
        self.faults = faults or FaultPlan()
        self._host = check_loopback(host)
        self._ports = ports
        self._clock = Clock()
        self._directory = Directory(records)
        self._entra_key = entra_signing_key(0)
        self._cluster_keys: dict[str, SigningKey] = {
            c.name: cluster_signing_key(1 + i) for i, c in enumerate(records.clusters)
        }
        by_issuer = {c.issuer_url: self._cluster_keys[c.name] for c in records.clusters}
        self._services = Services(
            directory=self._directory,
            clock=self._clock,
            faults=self.faults,
            entra_key=self._entra_key,
            issuer_keys=by_issuer,
            cluster_keys=self._cluster_keys,
            limits=identity_limits,
            cache_identity_tokens=cache_identity_tokens,
        )
        # Called (on the server thread) with each request-log entry: never holds a token value.
        self._services.on_request = on_request
        self._own_work_dir = work_dir is None
        self._work_dir = work_dir
        self._projectors: dict[tuple[str, str, str, str], ServiceAccountTokenProjector] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self._bound: list[int] = []

    # ---- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._thread is not None:
            return self
        tls = process_tls()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.server_cert.configure_cert(ctx)
        if self._work_dir is None:
            self._work_dir = Path(tempfile.mkdtemp(prefix="certless-emulator-run-"))
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="certless-emulator")
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._bind(ctx), self._loop)
        try:
            future.result(timeout=30)
        except OSError as exc:
            self.stop()
            raise EmulatorError(f"cannot listen on {self._host}: {exc.strerror or exc}") from None
        self._services.entra.base_url = self.entra_url
        return self

    async def _bind(self, ctx: ssl.SSLContext) -> None:
        self._services.reset_holding()
        apps = (
            (self._services.entra_app(), ctx),
            (self._services.imds_app(), None),
            (self._services.appservice_app(), None),
        )
        shapes = ("entra", "imds", "appservice")
        for (app, tls_ctx), port, shape in zip(apps, self._ports, shapes, strict=True):
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            shape_protocol_errors(runner.server, self._services, shape)
            site = web.TCPSite(runner, self._host, port, ssl_context=tls_ctx)
            await site.start()
            self._runners.append(runner)
            self._bound.append(runner.addresses[0][1])

    def stop(self) -> None:
        for projector in self._projectors.values():
            projector.stop()
        self._projectors.clear()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._services.stop_holding)
            future = asyncio.run_coroutine_threadsafe(self._cleanup(), self._loop)
            with contextlib.suppress(Exception):
                future.result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
        self._loop = None
        self._thread = None
        self._bound = []
        if self._own_work_dir and self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None

    async def _cleanup(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"entra={self.entra_url}" if self._bound else "stopped"
        return f"<Emulator {state} tenants={len(self.records.tenants)} apps={len(self.records.apps)}>"

    # ---- addresses ----------------------------------------------------------------------------------

    def _port(self, index: int) -> int:
        if len(self._bound) < 3:
            raise EmulatorError("the emulator is not running: call start() or use it as a context manager")
        return self._bound[index]

    @property
    def entra_url(self) -> str:
        return f"https://{self._host}:{self._port(0)}"

    @property
    def authority_host(self) -> str:
        return f"{self._host}:{self._port(0)}"

    @property
    def imds_url(self) -> str:
        return f"http://{self._host}:{self._port(1)}"

    @property
    def identity_endpoint(self) -> str:
        return f"http://{self._host}:{self._port(2)}/msi/token"

    @property
    def identity_header(self) -> str:
        """IDENTITY_HEADER of the default host (every user-assigned identity attached)."""
        return self._directory.host(DEFAULT_HOST).identity_header

    @property
    def control_secret(self) -> str:
        """The secret of this run's control endpoint (``python -m emulator user-token``); never logged."""
        return self._services.control_secret

    @property
    def ca_bundle_path(self) -> str:
        return str(process_tls().ca_bundle_path)

    def authority(self, tenant_id: str) -> str:
        return f"{self.entra_url}/{tenant_id}"

    def host_imds_url(self, workload: str) -> str:
        """AZURE_POD_IDENTITY_AUTHORITY_HOST for one workload's host (only its identities attached)."""
        self._directory.host(workload)
        return f"{self.imds_url}/hosts/{quote(workload, safe='')}"

    def user_token(self, user: str, client_id: str, scope: str) -> str:
        """A signed-in user's access token, as the client app ``client_id`` receives it for ``scope``
        (e.g. ``api://<api client id>/access_as_user``): what a web API gets in its Authorization header."""
        return self._services.entra.user_token(user, client_id, scope)

    def revoke_sign_in_sessions(self, user: str, tenant_id: str | None = None) -> None:
        """As Graph's revokeSignInSessions: the user's refresh tokens issued so far fail (AADSTS50173)."""
        tenant = tenant_id or (self.records.tenants[0] if self.records.tenants else "")
        self._services.entra.revoke_sign_in_sessions(user, tenant)

    # ---- observation --------------------------------------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self._services._log_lock:
            return [dict(e) for e in self._services.requests]

    @property
    def counters(self) -> dict[str, int]:
        with self._services._log_lock:
            return dict(self._services.counters)

    @property
    def internal_errors(self) -> list[str]:
        return list(self._services.internal_errors)

    def reset_log(self) -> None:
        with self._services._log_lock:
            self._services.requests.clear()
            for k in self._services.counters:
                self._services.counters[k] = 0

    # ---- control ------------------------------------------------------------------------------------

    def clock_skew(self, seconds: float) -> None:
        """Shift the emulator's clock (tokens it issues and the time it validates assertions against)."""
        self._clock.skew = float(seconds)

    def attach_identity(self, host: str, identity: str) -> None:
        """Attach an identity (client/principal/resource ID or name) to a host (a workload or "default")."""
        self._directory.attach_identity(host, identity)

    def detach_identity(self, host: str, identity: str) -> None:
        self._directory.detach_identity(host, identity)

    def add_federated_credential(
        self,
        owner_client_id: str,
        *,
        name: str,
        issuer: str,
        subject: str,
        audience: str | None = None,
    ) -> None:
        """Add or replace a FIC on an app or user-assigned identity; it appears now (propagation applies).

        The audience defaults to the records' cloud's token-exchange audience."""
        audience = audience or self.cloud.token_exchange_audience
        self._directory.add_federated_credential(
            owner_client_id, FederatedCredential(name, issuer, subject, (audience,))
        )

    @property
    def cloud(self) -> EntraCloud:
        """The Azure cloud whose Entra this emulator plays (from the plan's ``outputs.cloud``)."""
        return cloud_named(self.records.cloud)

    def issue_identity_token(self, identity: str, lifetime: int = 86399, resource: str | None = None) -> str:
        """A token as IMDS would issue it for `identity` (client/principal/resource ID or name); the
        resource defaults to the cloud's token-exchange audience."""
        resource = resource or self.cloud.token_exchange_audience
        ident = self.records.identity(identity)
        if ident is None:
            raise RecordsError(
                "identity", identity, "the client ID, principal ID, resource ID or name of one"
            )
        token, _iat, _exp = self._services.entra.identity_token(ident, resource, lifetime)
        return token

    def project_service_account_token(
        self,
        cluster: str,
        namespace: str,
        sa: str,
        path: str | Path,
        lifetime: int = 3600,
    ) -> ServiceAccountTokenProjector:
        """Write a service-account token for `sa` to `path` and keep rotating it at 80 % of `lifetime`."""
        record = self.records.cluster(cluster)
        if record is None:
            known = ", ".join(c.name for c in self.records.clusters) or "none"
            raise RecordsError("cluster", cluster, f"one of the records' AKS clusters ({known})")
        if lifetime <= 0:
            raise RecordsError("lifetime", str(lifetime), "a positive number of seconds")
        key = (cluster, namespace, sa, str(path))
        existing = self._projectors.pop(key, None)
        if existing is not None:
            existing.stop()
        projector = ServiceAccountTokenProjector(
            cluster=record,
            key=self._cluster_keys[cluster],
            namespace=namespace,
            service_account=sa,
            path=Path(path),
            lifetime=lifetime,
            now=self._clock.now,
            audience=self.cloud.token_exchange_audience,
        ).start()
        self._projectors[key] = projector
        return projector

    def host_env(self, host: str, workload: str) -> dict[str, str]:
        """The environment that makes a local process look like `host` running `workload`."""
        from emulator.host_env import build_host_env

        if host not in HOST_KINDS:
            raise RecordsError("host", repr(host), f"one of {', '.join(HOST_KINDS)}")
        return build_host_env(self, host, self.records.workload(workload))

    @property
    def work_dir(self) -> Path:
        if self._work_dir is None:
            raise EmulatorError("the emulator is not running")
        return self._work_dir

    def _identity_header_for(self, workload: str) -> str:
        return self._directory.host(workload).identity_header
