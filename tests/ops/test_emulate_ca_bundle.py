"""The eval line's CA bundle: the local CAs plus every root the shell already trusted, so `pip install`
or a call through a TLS-inspecting proxy (its CA in the system store) still works in that shell."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from certless_ops.emulate.daemon import merged_ca_bundle


def _pem(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def test_the_roots_the_shell_trusted_stay_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local, proxy = _pem(tmp_path, "emulator"), _pem(tmp_path, "corporate-proxy")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(proxy))
    bundle = merged_ca_bundle(tmp_path / "ca-bundle.pem", local).read_text()
    assert local.read_text().strip() in bundle
    assert proxy.read_text().strip() in bundle


def test_a_bundle_of_an_earlier_eval_line_is_not_nested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "ca-bundle.pem"
    old_ca, new_ca = _pem(tmp_path, "old-emulator"), _pem(tmp_path, "new-emulator")
    merged_ca_bundle(target, old_ca)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(target))  # the shell still has the last eval line
    monkeypatch.setenv("SSL_CERT_FILE", str(target))
    bundle = merged_ca_bundle(target, new_ca).read_text()
    assert old_ca.read_text().strip() not in bundle
    assert new_ca.read_text().strip() in bundle
