"""A kubelet-like projector: writes a service-account token to a file and rotates it at 80 % of its life."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from emulator.aks.tokens import service_account_claims
from emulator.keys import SigningKey
from emulator.records import TOKEN_EXCHANGE_AUDIENCE, Cluster

ROTATE_AT = 0.8  # kubelet refreshes a projected token once 80 % of its TTL has passed


class ServiceAccountTokenProjector:
    """Writes `path` now, then again every 0.8 x lifetime until stopped (atomic replace, like kubelet)."""

    def __init__(
        self,
        *,
        cluster: Cluster,
        key: SigningKey,
        namespace: str,
        service_account: str,
        path: Path,
        lifetime: int,
        now: Callable[[], float],
        audience: str = TOKEN_EXCHANGE_AUDIENCE,
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.service_account = service_account
        self.path = path
        self.lifetime = lifetime
        self.rotations = 0
        self._key = key
        self._now = now
        self._audience = audience
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"projector-{service_account}")

    def start(self) -> ServiceAccountTokenProjector:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.write()
        self._thread.start()
        return self

    def write(self) -> None:
        claims = service_account_claims(
            issuer=self.cluster.issuer_url,
            namespace=self.namespace,
            service_account=self.service_account,
            now=int(self._now()),
            lifetime=self.lifetime,
            audience=self._audience,
        )
        token = self._key.sign(claims)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".token-")
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(token)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.rotations += 1

    def _run(self) -> None:
        while not self._stop.wait(self.lifetime * ROTATE_AT):
            self.write()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
