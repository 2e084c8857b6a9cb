"""Everything the demo starts, owned by one object that stops it all, also on Ctrl-C or SIGTERM.

The demo works in one temp dir; it points this process's ``tempfile`` and its children's TMPDIR there,
so files made by libraries (the emulator's CA bundle, trustme) are removed with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, TypeVar

from certless_ops.azurite import Azurite
from certless_ops.demo import chain
from certless_ops.errors import UserError

PLAN_SCHEMA = "certless.plan/v1"
_T = TypeVar("_T")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class DemoSession:
    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self.workdir = Path()
        self.emulator: Any = None
        self.azurite: Azurite | None = None
        self._saved: tuple[str | None, str | None, Any] | None = None

    def __enter__(self) -> DemoSession:
        self.workdir = Path(tempfile.mkdtemp(prefix="certless-demo-"))
        self._saved = (tempfile.tempdir, os.environ.get("TMPDIR"), signal.getsignal(signal.SIGTERM))
        tempfile.tempdir = str(self.workdir)
        os.environ["TMPDIR"] = str(self.workdir)
        # SIGTERM takes the same path as Ctrl-C: unwind, stop everything, remove the temp dir.
        signal.signal(signal.SIGTERM, _interrupt)
        return self

    def write_plan(self, stack: str, config_file: Path | None) -> tuple[Path, dict[str, Any]]:
        path = self.workdir / f"plan-{stack}.json"
        return path, chain.write_plan(stack, path, config_file=config_file)

    def copy_plan(self, source: Path) -> tuple[Path, dict[str, Any]]:
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as exc:
            raise UserError(
                f"--plan {str(source)!r}: cannot read it ({exc.strerror}); expected a plan JSON file"
            ) from None
        try:
            plan = json.loads(text)
        except ValueError as exc:
            raise UserError(
                f"--plan {str(source)!r}: not JSON ({exc}); expected a certless.plan/v1 document"
            ) from None
        if not isinstance(plan, dict) or plan.get("schema") != PLAN_SCHEMA:
            found = plan.get("schema") if isinstance(plan, dict) else type(plan).__name__
            raise UserError(f"--plan {str(source)!r}: schema is {found!r}, expected {PLAN_SCHEMA!r}")
        path = self.workdir / "plan.json"
        path.write_text(text, encoding="utf-8")
        return path, plan

    def start_emulator(self, plan_path: Path, users: Sequence[str] = ()) -> Any:
        """The emulator seeded from the plan, with ``users`` as test users of its tenant."""
        from emulator import Emulator, Records

        records = Records.from_plan(plan_path)
        for name in users:
            records.add_user(name)
        emu = Emulator(records)
        self._stack.callback(emu.stop)  # registered first: a Ctrl-C inside start() still stops it
        self.emulator = emu.start()
        return emu

    def start_azurite(self) -> Azurite:
        server = Azurite()
        self._stack.callback(server.stop)
        self.azurite = server.start()
        return server

    def start_storage_rbac(
        self,
        plan: dict[str, Any],
        emu: Any,
        azurite: Azurite,
        *,
        account_id: str | None = None,
        extra_assignments: Iterable[Any] = (),
    ) -> Any:
        """Azure's RBAC check in front of Azurite (certless_ops.storage_rbac): the plan's grants, plus
        ``extra_assignments`` (what an admin assigns outside the program, e.g. users' roles) on
        ``account_id`` (default: the account the plan grants a role on)."""
        from certless_ops.storage_rbac import (
            StorageRbac,
            assignments_from_plan,
            fetch_jwks,
            granted_storage_account,
        )

        tenant = plan["outputs"]["tenantId"]
        # A plan that grants no storage account: Azurite stands in for one nobody holds a role on.
        account = (
            account_id
            or granted_storage_account(plan)
            or (
                "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/none/providers/"
                "Microsoft.Storage/storageAccounts/devstoreaccount1"
            )
        )
        proxy = StorageRbac(
            [*assignments_from_plan(plan), *extra_assignments],
            account_id=account,
            upstream_host="127.0.0.1",
            upstream_port=azurite.port,
            upstream_ca=str(azurite.ca_pem),
            cert_pem=azurite.tls.cert_pem,
            key_pem=azurite.tls.key_pem,
            keys=fetch_jwks(f"{emu.entra_url}/{tenant}/discovery/keys", emu.ca_bundle_path),
        )
        self._stack.callback(proxy.stop)
        return proxy.start()

    def enter(self, context: AbstractContextManager[_T]) -> _T:
        """Enter ``context`` now and exit it when the session ends (before what was started earlier)."""
        return self._stack.enter_context(context)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A second Ctrl-C while stopping must not leave things half-stopped.
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            self._stack.close()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)
            if self._saved is not None:
                tempdir, tmpdir_env, sigterm = self._saved
                tempfile.tempdir = tempdir
                if tmpdir_env is None:
                    os.environ.pop("TMPDIR", None)
                else:
                    os.environ["TMPDIR"] = tmpdir_env
                signal.signal(signal.SIGTERM, sigterm)
            signal.signal(signal.SIGINT, previous_int)
