"""Fork safety (gunicorn --preload, multiprocessing with fork): a child forked while the parent is in
the middle of acquiring or refreshing a token never waits for work that only the parent's threads
could finish; it starts its own, over its own connections."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest

from certless import credential_from_settings
from emulator import Emulator

from .support import STORAGE

HostFn = Callable[..., dict[str, str]]
CHILD_DEADLINE = 20.0  # seconds; a child still running then is blocked, and is killed

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _in_child(work: Callable[[], str]) -> tuple[str, float]:
    """Run ``work`` in a forked child; its answer (or error) and how long it took, or a failure if the
    child is still running after CHILD_DEADLINE."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer through the pipe, never return into pytest
        os.close(read_end)
        started = time.monotonic()
        try:
            answer = work()
        except BaseException as exc:
            answer = f"error: {exc.__class__.__name__}: {str(exc)[:300]}"
        os.write(write_end, f"{time.monotonic() - started:.3f} {answer}".encode())
        os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + CHILD_DEADLINE
    while time.monotonic() < deadline:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(read_end)
        pytest.fail(f"the forked child was still blocked after {CHILD_DEADLINE:.0f} s")
    with os.fdopen(read_end, "rb") as pipe:
        took, _, answer = pipe.read().decode().partition(" ")
    return answer, float(took)


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
@pytest.mark.parametrize("slow", ["imds", "entra-token"])
def test_a_child_forked_during_the_first_acquisition_gets_its_own_token(
    emulator: Emulator, host: HostFn, slow: str
) -> None:
    host("vm", "web")
    emulator.faults.latency(slow, 1.5)  # the parent's request is in flight when it forks
    with credential_from_settings() as credential:
        parent = threading.Thread(target=credential.get_token, args=(STORAGE,))
        parent.start()
        time.sleep(0.4)
        answer, _took = _in_child(lambda: credential.get_token(STORAGE).token[:10])
        parent.join()
    assert answer.startswith("eyJ"), answer  # a JWT, not an error


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_child_forked_during_a_background_refresh_uses_the_cached_token_at_once(
    emulator: Emulator, host: HostFn
) -> None:
    from .support import FakeClock

    clock = FakeClock()
    host("vm", "web")
    with credential_from_settings(clock=clock) as credential:
        first = credential.get_token(STORAGE)
        emulator.faults.latency("entra-token", 1.5)
        clock.advance(first.expires_on - clock.time() - 200)  # due for refresh, still valid
        assert credential.get_token(STORAGE).token == first.token  # starts the background refresh
        time.sleep(0.3)

        def child() -> str:
            token = credential.get_token(STORAGE).token
            # a later call, once the token is no longer usable, must fetch (not wait on the parent's)
            clock.advance(200)
            fresh = credential.get_token(STORAGE).token
            return f"{token == first.token} {fresh != first.token}"

        answer, took = _in_child(child)
    assert answer == "True True", answer  # the cached token at once, then a token of its own
    assert took < CHILD_DEADLINE
