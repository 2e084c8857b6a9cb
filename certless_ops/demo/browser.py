"""Headless Chromium through Playwright, for ``demo --web`` and the browser e2e tests.

The system's Chromium only (Debian's ``chromium``): nothing here downloads a browser. When it cannot
start, :class:`BrowserMissing` says in one line what to install.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

CHROMIUM_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage")
DEFAULT_CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = (
    "install it with 'apt-get install chromium' (Debian/Ubuntu), or set CERTLESS_CHROMIUM to its path"
)


# Chromium binds a Unix socket at <TMPDIR>/org.chromium.Chromium.XXXXXX/SingletonSocket; sun_path holds 107
# bytes and a NUL, so under a deep TMPDIR (a test's or the demo's temp dir) it cannot start.
SOCKET_PATH_MAX = 107
_SOCKET_TAIL = "/certless-chromium-XXXXXXXX/org.chromium.Chromium.XXXXXX/SingletonSocket"
# Only bases for mkdtemp (a fresh 0700 folder), never files of their own.
_SHORT_BASES = ("/tmp", "/var/tmp", "/dev/shm")  # noqa: S108


class BrowserMissing(RuntimeError):
    """Chromium is not installed or does not start: one line, with the fix."""


def short_tmpdir() -> str:
    """A new temp dir for Chromium alone whose socket path fits: under TMPDIR if it is short enough,
    else under the first short system temp folder that is writable."""
    for base in (tempfile.gettempdir(), *_SHORT_BASES):
        if len(base + _SOCKET_TAIL) > SOCKET_PATH_MAX or not os.path.isdir(base):
            continue
        try:
            return tempfile.mkdtemp(prefix="certless-chromium-", dir=base)
        except OSError:
            continue
    raise BrowserMissing(
        f"Chromium needs a temp folder whose path is at most {SOCKET_PATH_MAX - len(_SOCKET_TAIL)} "
        f"characters: TMPDIR {tempfile.gettempdir()[:80]!r} is longer and none of "
        f"{', '.join(_SHORT_BASES)} is writable"
    )


def chromium_path() -> str:
    """``CERTLESS_CHROMIUM``, else ``chromium`` on PATH, else Debian's path."""
    return os.environ.get("CERTLESS_CHROMIUM") or shutil.which("chromium") or DEFAULT_CHROMIUM


def spki_pin(cert_pem: bytes) -> str:
    """Chromium's pin for a certificate's key (base64 SHA-256 of its SubjectPublicKeyInfo)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = x509.load_pem_x509_certificate(cert_pem).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextlib.contextmanager
def chromium(executable: str | None = None, *, trusted_keys: tuple[str, ...] = ()) -> Iterator[Any]:
    """A launched headless Chromium (``playwright.sync_api.Browser``); closed on exit.

    ``trusted_keys``: SPKI pins (:func:`spki_pin`) of loopback servers whose certificates come from a local
    CA (the emulator's): Chromium accepts those keys and no other unknown certificate.
    """
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")  # never fetch a browser at run time
    from playwright.sync_api import Error, sync_playwright

    path = executable or chromium_path()
    args = list(CHROMIUM_ARGS)
    if trusted_keys:
        args.append(f"--ignore-certificate-errors-spki-list={','.join(trusted_keys)}")
    own_tmp = short_tmpdir()
    env: dict[str, str | float | bool] = {**os.environ, "TMPDIR": own_tmp}
    try:
        # Playwright's driver inherits this process's environment when it starts: its profile and
        # artifacts folders go to the browser's own temp dir too, removed below whatever happens.
        with contextlib.ExitStack() as running:
            with _environ(TMPDIR=own_tmp):
                playwright = running.enter_context(sync_playwright())
            try:
                browser = playwright.chromium.launch(executable_path=path, args=args, env=env, timeout=60_000)
            except Error as exc:
                reason = str(exc).strip().splitlines()[0].removeprefix("BrowserType.launch: ")[:160]
                raise BrowserMissing(
                    f"Chromium cannot start from {path} ({reason}): {INSTALL_HINT}"
                ) from None
            try:
                yield browser
            finally:
                # After a Ctrl-C in a terminal the driver got the SIGINT too and is gone: nothing to close.
                with contextlib.suppress(Error):
                    browser.close()
    finally:
        shutil.rmtree(own_tmp, ignore_errors=True)
