"""No route to the identity endpoint (EHOSTUNREACH, EHOSTDOWN, ENETUNREACH) is "nothing listens here",
like a refused connection: one quick retry so the next source gets its turn, not 25 s of backoff."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from certless._http import RequestsTransport, TransportError

# requests' message for a failed connect, as urllib3 builds it around the socket error.
_SHAPE = (
    "HTTPConnectionPool(host='169.254.169.254', port=80): Max retries exceeded with url: "
    "/metadata/identity/oauth2/token (Caused by NewConnectionError('<urllib3.connection.HTTPConnection "
    "object at 0x7f>: Failed to establish a new connection: [Errno {errno}] {reason}'))"
)


class _FailingSession:
    def __init__(self, message: str) -> None:
        self.message = message

    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise requests.ConnectionError(self.message)

    def close(self) -> None:
        pass


def _fail_with(message: str) -> TransportError:
    transport = RequestsTransport()
    transport._session = _FailingSession(message)
    with pytest.raises(TransportError) as caught:
        transport.request(
            "GET",
            "http://169.254.169.254/metadata/identity/oauth2/token",
            params=None,
            data=None,
            headers={},
            timeout=1.0,
            verify=True,
        )
    return caught.value


@pytest.mark.parametrize(
    ("errno", "reason"),
    [
        (111, "Connection refused"),
        (113, "No route to host"),
        (112, "Host is down"),
        (101, "Network is unreachable"),
    ],
)
def test_no_route_is_nothing_listening(errno: int, reason: str) -> None:
    error = _fail_with(_SHAPE.format(errno=errno, reason=reason))
    assert error.connect is True
    assert reason in str(error)


def test_a_reset_is_still_a_transient_fault_of_a_live_endpoint() -> None:
    error = _fail_with("('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer'))")
    assert error.connect is False
