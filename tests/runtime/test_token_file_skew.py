"""AKS token files and a host clock that runs ahead: Entra judges the token within its 5-minute skew,
so certless does not refuse it locally; beyond that skew the refusal is transient (kubelet rotates the
file, and a rotated file is read again)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from certless import _jwt, credential_from_settings
from certless._sources.token_file import ENTRA_CLOCK_SKEW
from certless.errors import NoCredentialError
from emulator import Emulator

from .support import STORAGE, FakeClock

HostFn = Callable[..., dict[str, str]]


def _exp(path: str) -> float:
    with open(path, encoding="utf-8") as fh:
        return float(_jwt.claims(fh.read())["exp"])


@pytest.mark.parametrize("kind", ["aks-direct", "aks-via-identity"])
@pytest.mark.parametrize("ahead", [1, 60, ENTRA_CLOCK_SKEW - 30])
def test_a_token_file_past_its_exp_by_less_than_entras_skew_is_presented(
    emulator: Emulator, host: HostFn, clock: FakeClock, kind: str, ahead: float
) -> None:
    env = host(kind, "ingest" if kind == "aks-direct" else "reports")
    exp = _exp(env["AZURE_FEDERATED_TOKEN_FILE"])
    clock.advance(exp - clock.time() + ahead)  # this host's clock: the token "expired" `ahead` s ago
    with credential_from_settings(clock=clock) as credential:
        assert credential.get_token(STORAGE).token  # Entra (on the real clock) accepts it


@pytest.mark.parametrize("kind", ["aks-direct", "aks-via-identity"])
def test_beyond_the_skew_the_refusal_is_transient_and_a_rotated_file_is_used(
    emulator: Emulator, host: HostFn, clock: FakeClock, kind: str
) -> None:
    workload = "ingest" if kind == "aks-direct" else "reports"
    env = host(kind, workload)
    path = env["AZURE_FEDERATED_TOKEN_FILE"]
    clock.advance(_exp(path) - clock.time() + ENTRA_CLOCK_SKEW + 60)
    with credential_from_settings(clock=clock) as credential:
        with pytest.raises(NoCredentialError) as info:
            credential.get_token(STORAGE)
        text = str(info.value)
        assert "expired" in text and "clock" in text and "skipped until reset" not in text
        # kubelet rotates the file: a token whose exp is ahead of this host's clock
        namespace, sa = ("ingest", "ingest-sa") if kind == "aks-direct" else ("reports", "reports-sa")
        emulator.project_service_account_token("aks-prod", namespace, sa, path, lifetime=86400)
        clock.advance(301)  # past the source's backoff
        assert credential.get_token(STORAGE).token


@pytest.mark.parametrize("content", ["", "   \n", "half.written", "not-a-token"])
def test_a_token_file_caught_mid_write_is_read_again_later(
    emulator: Emulator, host: HostFn, clock: FakeClock, content: str
) -> None:
    env = host("aks-direct", "ingest")
    path = env["AZURE_FEDERATED_TOKEN_FILE"]
    with open(path, encoding="utf-8") as fh:
        good = fh.read()
    with open(path, "w", encoding="utf-8") as fh:  # a writer that is not atomic, caught halfway
        fh.write(content)
    with credential_from_settings(clock=clock) as credential:
        with pytest.raises(NoCredentialError) as info:
            credential.get_token(STORAGE)
        assert "retrying in" in str(info.value) and "skipped until reset" not in str(info.value)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(good)
        clock.advance(301)
        assert credential.get_token(STORAGE).token
