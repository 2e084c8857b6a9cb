"""Helpers for the e2e tests: plans, per-stack chains, broken plan copies, process and token checks."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certless_ops.azurite import ACCOUNT, Azurite
from certless_ops.demo import chain
from certless_ops.storage_rbac import StorageRbac, assignments_from_plan, fetch_jwks, granted_storage_account
from emulator import Emulator, Records

STACKS_DIR = Path(__file__).with_name("stacks")
# stack name -> config file (None: the shipped Pulumi.<stack>.yaml)
STACKS: dict[str, Path | None] = {
    "dev": None,
    "prod": None,
    "e2e": STACKS_DIR / "Pulumi.e2e.yaml",
    "usgov": STACKS_DIR / "Pulumi.usgov.yaml",  # Azure US Government
}
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.")


@dataclass(frozen=True)
class Plan:
    stack: str
    path: Path
    doc: dict[str, Any]

    def workload(self, name: str) -> dict[str, Any]:
        return dict(self.doc["outputs"]["workloads"][name])

    def broken(self, edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """A copy of the plan JSON with ``edit`` applied, the way a user breaks a deployment."""
        doc = copy.deepcopy(self.doc)
        edit(doc)
        return doc


def app_fic_resource(doc: Mapping[str, Any], workload: str) -> dict[str, Any]:
    """The plan resource of the FIC on ``workload``'s app registration (the one its outputs list)."""
    w = doc["outputs"]["workloads"][workload]
    fic = next(f for f in w["federatedCredentials"] if f["on"] == "app")
    for res in doc["resources"]:
        out = res.get("outputs") or {}
        if (
            res["type"].endswith("ApplicationFederatedIdentityCredential")
            and out.get("issuer") == fic["issuer"]
            and out.get("subject") == fic["subject"]
        ):
            return dict(res)
    raise AssertionError(f"no FIC resource for {workload} in the plan")


def set_app_fic(workload: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    """An edit that changes the app FIC of ``workload`` in the resource and in the outputs alike."""

    def edit(doc: dict[str, Any]) -> None:
        res = app_fic_resource(doc, workload)
        listed = next(
            f for f in doc["outputs"]["workloads"][workload]["federatedCredentials"] if f["on"] == "app"
        )
        for key, value in fields.items():
            for side in ("inputs", "outputs"):
                res[side][key] = value
            listed["audience" if key == "audiences" else key] = value[0] if key == "audiences" else value

    return edit


@dataclass
class Chain:
    """One stack's emulator next to the session's Azurite."""

    plan: Plan
    emulator: Emulator
    azurite: Azurite
    storage: StorageRbac | None = None
    """The RBAC check in front of Azurite (the session's chains); None: Azurite directly."""

    def env(self, workload: str, host: str | None = None) -> dict[str, str]:
        """The app's environment on ``host`` (default: the workload's own compute kind)."""
        w = self.plan.workload(workload)
        host = host or chain.host_kind(w)
        return chain.app_env(
            chain.compute_settings(w),
            self.emulator.host_env(host, workload),
            account_url=self.storage.account_url(ACCOUNT) if self.storage else self.azurite.account_url,
            storage_ca=self.azurite.ca_pem,
            label=f"{workload}-{host}",
        )

    def log_since(self, mark: int) -> list[dict[str, Any]]:
        return self.emulator.requests[mark:]


@contextmanager
def emulator_for(doc: Mapping[str, Any] | Records) -> Iterator[Emulator]:
    records = doc if isinstance(doc, Records) else Records.from_plan(doc)
    with Emulator(records) as emu:
        yield emu


def processes_with_env(marker: str) -> list[int]:
    """PIDs of live processes whose environment holds ``marker`` (children inherit it, however deep)."""
    needle = marker.encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if needle in fh.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def storage_rbac(plan: Mapping[str, Any], emu: Emulator, azurite: Azurite) -> StorageRbac:
    """The RBAC check for ``plan``'s grants, in front of ``azurite``, trusting ``emu``'s signing keys."""
    tenant = plan["outputs"]["tenantId"]
    account = granted_storage_account(plan)
    if account is None:
        raise AssertionError(
            f"plan of stack {plan.get('stack')!r} grants no storage account: every call would be 403"
        )
    return StorageRbac(
        assignments_from_plan(plan),
        account_id=account,
        upstream_host="127.0.0.1",
        upstream_port=azurite.port,
        upstream_ca=str(azurite.ca_pem),
        cert_pem=azurite.tls.cert_pem,
        key_pem=azurite.tls.key_pem,
        keys=fetch_jwks(f"{emu.entra_url}/{tenant}/discovery/keys", emu.ca_bundle_path),
    )
