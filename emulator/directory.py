"""Live state behind the endpoints: the records, when each FIC appeared, the emulated hosts, the clock."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from emulator.errors import RecordsError
from emulator.records import App, FederatedCredential, Identity, Records

DEFAULT_HOST = "default"


class Clock:
    """Wall clock plus a test-controlled skew (seconds; positive = the emulator runs ahead)."""

    def __init__(self) -> None:
        self.skew = 0.0

    def now(self) -> float:
        return time.time() + self.skew


@dataclass
class Host:
    """One emulated compute: the identities attached to it and its identity-endpoint secret."""

    name: str
    user_assigned: list[Identity] = field(default_factory=list)
    system_assigned: Identity | None = None
    identity_header: str = field(default_factory=lambda: secrets.token_hex(16), repr=False)

    def attached(self) -> list[Identity]:
        return ([self.system_assigned] if self.system_assigned else []) + self.user_assigned


class Directory:
    def __init__(self, records: Records) -> None:
        self.records = records
        self.lock = threading.RLock()
        started = time.monotonic()
        self._fic_appeared: dict[tuple[str, str], float] = {}
        owners: list[App | Identity] = [*records.apps, *records.identities]
        for owner in owners:
            for fic in owner.federated_credentials:
                self._fic_appeared[(owner.client_id, fic.name)] = started
        # The default host carries every user-assigned identity, as a VM with all of them attached would.
        self.hosts: dict[str, Host] = {
            DEFAULT_HOST: Host(DEFAULT_HOST, [i for i in records.identities if not i.system_assigned])
        }
        for w in records.workloads:
            ident = records.identity(w.identity_client_id) if w.identity_client_id else None
            host = Host(w.name)
            if ident is not None and ident.system_assigned:
                host.system_assigned = ident
            elif ident is not None:
                host.user_assigned.append(ident)
            self.hosts[w.name] = host

    # ---- FICs ---------------------------------------------------------------------------------------

    def client(self, client_id: str) -> App | Identity | None:
        """The principal a token request names: an app, or a user-assigned identity (workload identity)."""
        app = self.records.app(client_id)
        if app is not None:
            return app
        wanted = client_id.lower()
        ident = next((i for i in self.records.identities if i.client_id.lower() == wanted), None)
        return ident if ident is not None and not ident.system_assigned else None

    def visible_fics(self, owner: App | Identity, propagation: float) -> list[FederatedCredential]:
        """FICs that have propagated: those that appeared at least `propagation` seconds ago."""
        now = time.monotonic()
        with self.lock:
            return [
                fic
                for fic in owner.federated_credentials
                if now - self._fic_appeared.get((owner.client_id, fic.name), 0.0) >= propagation
            ]

    def add_federated_credential(self, owner_client_id: str, fic: FederatedCredential) -> None:
        owner = self.client(owner_client_id)
        if owner is None:
            raise RecordsError(
                "FIC owner", owner_client_id, "the client ID of an app or user-assigned identity"
            )
        with self.lock:
            owner.federated_credentials = [f for f in owner.federated_credentials if f.name != fic.name]
            owner.federated_credentials.append(fic)
            self._fic_appeared[(owner.client_id, fic.name)] = time.monotonic()

    # ---- hosts --------------------------------------------------------------------------------------

    def host(self, name: str) -> Host:
        host = self.hosts.get(name)
        if host is None:
            known = ", ".join(sorted(self.hosts))
            raise RecordsError("host", name, f"the default host or a workload ({known})")
        return host

    def host_by_header(self, header: str) -> Host | None:
        return next(
            (h for h in self.hosts.values() if secrets.compare_digest(h.identity_header, header)), None
        )

    def attach_identity(self, host_name: str, identity_key: str) -> Identity:
        host = self.host(host_name)
        ident = self.records.identity(identity_key)
        if ident is None:
            raise RecordsError(
                "identity", identity_key, "the client ID, principal ID, resource ID or name of one"
            )
        with self.lock:
            if ident.system_assigned:
                host.system_assigned = ident
            elif ident not in host.user_assigned:
                host.user_assigned.append(ident)
        return ident

    def detach_identity(self, host_name: str, identity_key: str) -> None:
        host = self.host(host_name)
        with self.lock:
            host.user_assigned = [
                i for i in host.user_assigned if identity_key not in (i.client_id, i.principal_id, i.name)
            ]
            if host.system_assigned and identity_key in (
                host.system_assigned.client_id,
                host.system_assigned.principal_id,
                host.system_assigned.name,
            ):
                host.system_assigned = None
