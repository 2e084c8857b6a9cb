"""The background process of `certless-ops emulate`: the emulator, optionally Azurite behind Azure's RBAC
check, and the state file that says where they are. Runs until SIGTERM (`emulate --stop`), then stops
everything it started and removes its run folder and the state file.

python -m certless_ops.emulate.daemon --plan PLAN --state STATE --run-dir DIR --origin TEXT [--azurite]

Its output (the run log) holds addresses only: no identity header, control secret or token.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import ssl
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EMULATE_KEY = "emulate"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m certless_ops.emulate.daemon")
    p.add_argument("--plan", type=Path, required=True)
    p.add_argument("--state", type=Path, required=True)
    p.add_argument("--run-dir", type=Path, required=True)
    p.add_argument("--origin", required=True, help="what was planned, e.g. 'stack dev'")
    p.add_argument("--azurite", action="store_true")
    return p


def merged_ca_bundle(target: Path, *pem_files: Path | str) -> Path:
    """One PEM file with the local CAs first, then the roots the shell already trusted: its own
    REQUESTS_CA_BUNDLE / SSL_CERT_FILE, the system store (where a TLS-inspecting proxy's CA lives) and
    the public roots (certifi). An app that trusts it reaches the emulator, Azurite and any HTTPS
    service it reached before, and `pip install` keeps working in that shell."""
    parts = [Path(p).read_text(encoding="ascii").strip() for p in pem_files]
    trusted: list[str] = [os.environ.get(name, "") for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")]
    trusted.append(ssl.get_default_verify_paths().cafile or "")
    with contextlib.suppress(ImportError):
        import certifi

        trusted.append(certifi.where())
    seen: set[Path] = set()
    for name in filter(None, trusted):
        path = Path(name).resolve()
        # An earlier eval line's bundle (this file, or a stopped run's) would nest old local CAs.
        if path in seen or path == target.resolve() or path.parent.name.endswith("emulator.d"):
            continue
        seen.add(path)
        with contextlib.suppress(OSError, UnicodeDecodeError):
            parts.append(path.read_text(encoding="ascii").strip())
    target.write_text("\n".join(parts) + "\n", encoding="ascii")
    return target


def _storage_rbac(plan: dict[str, Any], emu: Any, azurite: Any) -> Any:
    """Azure's RBAC check for the plan's grants in front of Azurite, trusting the emulator's keys."""
    from certless_ops.storage_rbac import (
        StorageRbac,
        assignments_from_plan,
        fetch_jwks,
        granted_storage_account,
    )

    tenant = plan["outputs"]["tenantId"]
    # A plan that grants no storage account: Azurite stands in for one nobody holds a role on.
    account = granted_storage_account(plan) or (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/none/providers/"
        "Microsoft.Storage/storageAccounts/devstoreaccount1"
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


def _hosts(plan: dict[str, Any]) -> dict[str, str]:
    from certless_ops.demo.chain import ChainError, host_kind

    hosts: dict[str, str] = {}
    for name, workload in (plan.get("outputs", {}).get("workloads") or {}).items():
        with contextlib.suppress(ChainError):
            hosts[name] = host_kind(workload)
    return hosts


def serve(args: argparse.Namespace, stop: threading.Event) -> None:
    from certless_ops.azurite import ACCOUNT, Azurite
    from emulator import Emulator, Records
    from emulator.cli import state_document, write_private

    plan = json.loads(args.plan.read_text(encoding="utf-8"))
    with contextlib.ExitStack() as running:
        records = Records.from_plan(plan)
        emu = Emulator(records, work_dir=args.run_dir / "emulator")
        running.callback(emu.stop)  # registered first: a signal inside start() still stops it
        emu.start()
        state = state_document(emu, records, args.plan)
        local_cas: list[Path | str] = [emu.ca_bundle_path]
        emulate: dict[str, Any] = {
            "origin": args.origin,
            "runDir": str(args.run_dir),
            "hosts": _hosts(plan),
            "azurite": None,
        }
        if args.azurite:
            azurite = Azurite()
            running.callback(azurite.stop)
            azurite.start()
            proxy = _storage_rbac(plan, emu, azurite)
            running.callback(proxy.stop)
            proxy.start()
            emulate["azurite"] = {
                "pid": azurite.pid,
                "accountUrl": proxy.account_url(ACCOUNT),
                "directUrl": azurite.account_url,
            }
            local_cas.append(azurite.ca_pem)
        emulate["caBundle"] = str(merged_ca_bundle(args.run_dir / "ca-bundle.pem", *local_cas))
        state[EMULATE_KEY] = emulate
        # Written whole, then renamed: the command waiting for it never reads half a file.
        partial = args.state.with_name(f".{args.state.name}.{os.getpid()}")
        write_private(partial, json.dumps(state, indent=2))
        partial.replace(args.state)
        print(f"emulator ready for {args.origin}: Entra {emu.entra_url}", flush=True)
        if emulate["azurite"]:
            print(f"Azurite behind Azure RBAC: {emulate['azurite']['accountUrl']}", flush=True)
        try:
            stop.wait()
        finally:
            _remove_own_state(args.state)
    print("stopped", flush=True)


def _remove_own_state(path: Path) -> None:
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Files libraries make (the emulator's CA, Azurite's folder) live in the run folder, removed with it.
    scratch = args.run_dir / "tmp"
    scratch.mkdir(exist_ok=True)
    tempfile.tempdir = str(scratch)
    os.environ["TMPDIR"] = str(scratch)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    try:
        serve(args, stop)
    except Exception as exc:  # the waiting command shows this last line
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", flush=True)
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(args.run_dir / "emulator", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
