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
from collections.abc import Iterator
from typing import Any

CHROMIUM_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage")
DEFAULT_CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = (
    "install it with 'apt-get install chromium' (Debian/Ubuntu), or set CERTLESS_CHROMIUM to its path"
)


class BrowserMissing(RuntimeError):
    """Chromium is not installed or does not start: one line, with the fix."""


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
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=path, args=args, timeout=60_000)
        except Error as exc:
            reason = str(exc).strip().splitlines()[0].removeprefix("BrowserType.launch: ")[:160]
            raise BrowserMissing(f"Chromium cannot start from {path} ({reason}): {INSTALL_HINT}") from None
        try:
            yield browser
        finally:
            browser.close()
