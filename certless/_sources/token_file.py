"""SignedAssertionFilePath: a token file another component keeps fresh (AKS workload identity).

The file is re-read when it changes (inode, mtime or size: kubelet replaces it atomically at 80% of
its lifetime) or when the token it held nears expiry, so a long-running process never presents the
stale token that makes Entra answer AADSTS700024.
"""

from __future__ import annotations

import os
from typing import Any

from certless import _jwt
from certless._http import Clock
from certless._sources.base import ASSERTION_MARGIN, AssertionSource, SourceContext, log
from certless.errors import CredentialUnavailableError
from certless.settings import CredentialDescription

# Entra accepts an assertion up to this long past its exp (clock skew between this host and Entra).
ENTRA_CLOCK_SKEW = 300.0


class TokenFile:
    def __init__(self, path: str, clock: Clock, label: str) -> None:
        self.path = path
        self.clock = clock
        self.label = label
        self._stat: tuple[int, int, int] | None = None

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def changed(self) -> bool:
        return self._signature() != self._stat

    def read(self) -> tuple[str, float]:
        signature = self._signature()
        try:
            with open(self.path, encoding="utf-8") as fh:
                value = fh.read().strip()
        except OSError as exc:
            raise CredentialUnavailableError(
                f"{self.label}: cannot read the token file {self.path!r} "
                f"({exc.strerror or exc.__class__.__name__}).",
                fix="On AKS, label the pod azure.workload.identity/use=true and use a service account "
                "annotated with azure.workload.identity/client-id; elsewhere set "
                "SignedAssertionFileDiskPath.",
            ) from None
        # Empty or not a JWT: most likely caught while a writer that is not atomic rewrites it. The
        # file exists, so this passes: transient (read again after the backoff, or once it changes).
        if not value:
            raise CredentialUnavailableError(
                f"{self.label}: the token file {self.path!r} is empty.", transient=True
            )
        try:
            claims = _jwt.claims(value)
        except _jwt.NotAJwtError as exc:
            raise CredentialUnavailableError(
                f"{self.label}: the token file {self.path!r} is {exc}.", transient=True
            ) from None
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)):
            raise CredentialUnavailableError(f"{self.label}: the token in {self.path!r} has no 'exp' claim.")
        now = self.clock.time()
        if exp + ENTRA_CLOCK_SKEW <= now:
            # Past even Entra's tolerance by this host's clock. Transient: kubelet may still rotate the
            # file (a rotated file is read again), or the clock may be what is wrong.
            raise CredentialUnavailableError(
                f"{self.label}: the token in {self.path!r} expired {now - exp:.0f} s ago by this host's "
                f"clock, beyond Entra's {ENTRA_CLOCK_SKEW:.0f}-s clock skew "
                f"(issuer {claims.get('iss')!r}, subject {claims.get('sub')!r}).",
                fix="Whatever writes this file stopped refreshing it: on AKS kubelet rotates the projected "
                "token at 80% of its lifetime; check the pod's volume projection and the host clock (NTP).",
                transient=True,
            )
        if exp <= now:
            # Entra judges the token with its own clock and a skew allowance: let it decide.
            log.warning(
                "%s: the token in %s expired %.0f s ago by this host's clock; presenting it anyway "
                "(Entra allows %.0f s of clock skew): check this host's clock (NTP)",
                self.label,
                self.path,
                now - exp,
                ENTRA_CLOCK_SKEW,
            )
        elif exp - now < ASSERTION_MARGIN:
            log.warning(
                "%s: the token in %s expires in %.0f s and has not been rotated yet",
                self.label,
                self.path,
                exp - now,
            )
        self._stat = signature
        log.info("%s: read token file %s (%s)", self.label, self.path, _jwt.fingerprint(value))
        return value, float(exp)


class SignedAssertionFilePathSource(AssertionSource):
    def __init__(self, description: CredentialDescription, ctx: SourceContext) -> None:
        super().__init__(description, ctx)
        self._file: TokenFile | None = None

    def _token_file(self) -> TokenFile:
        if self._file is None:
            path = self.description.signed_assertion_file_disk_path or os.environ.get(
                "AZURE_FEDERATED_TOKEN_FILE"
            )
            if not path:
                raise CredentialUnavailableError(
                    f"{self.label}: no token file: SignedAssertionFileDiskPath is not set and neither is "
                    "AZURE_FEDERATED_TOKEN_FILE.",
                    fix="Set AzureAd:ClientCredentials:N:SignedAssertionFileDiskPath, or run in a pod with "
                    "AKS workload identity enabled.",
                )
            self._file = TokenFile(path, self.ctx.clock, self.label)
        return self._file

    def _stale(self) -> bool:
        return self._file is not None and self._file.changed()

    def _fetch(self, *, fresh: bool, claims: str | None = None) -> tuple[str, float]:
        return self._token_file().read()

    def describe(self) -> dict[str, Any]:
        return {"path": self._token_file().path}
