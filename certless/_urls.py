"""One strict URL reader for every host check.

A host check is only as good as its agreement with the HTTP client that connects afterwards. Python's
``urlsplit`` and urllib3 (under requests) read some URLs differently: ``https://evil\\@login.microsoftonline.com/``
is login.microsoftonline.com to one and ``evil`` to the other. So a URL is accepted only when it has
one obvious reading: no userinfo, backslashes, whitespace, control or non-ASCII characters, no
percent-encoding in the authority, a valid port, and the same host for both parsers.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

_MAX_URL = 2048
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST_NAME = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_IPV6 = re.compile(r"^\[[0-9a-f:.]+\]$")


class AmbiguousUrlError(ValueError):
    """The URL could be read as more than one host, or as none: refuse it rather than guess."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def split_strict(url: str) -> SplitResult:
    """``urlsplit(url)``, or AmbiguousUrlError when two parsers could connect to different hosts."""
    if not isinstance(url, str) or not url:
        raise AmbiguousUrlError("empty URL")
    if len(url) > _MAX_URL:
        raise AmbiguousUrlError(f"longer than {_MAX_URL} characters")
    if any(ord(ch) <= 0x20 or ord(ch) >= 0x7F for ch in url):
        raise AmbiguousUrlError("whitespace, a control character or a non-ASCII character")
    if "\\" in url:
        raise AmbiguousUrlError("a backslash")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed '[' of an IPv6 address
        raise AmbiguousUrlError("a malformed address") from None
    netloc = parts.netloc
    if not netloc:
        raise AmbiguousUrlError("no host")
    if "@" in netloc:
        raise AmbiguousUrlError("user information before the host ('@')")
    if "%" in netloc:
        raise AmbiguousUrlError("a percent-encoded host")
    host = (parts.hostname or "").lower()
    if netloc.startswith("["):
        bracket = netloc[: netloc.find("]") + 1]
        if not _IPV6.match(bracket.lower()):
            raise AmbiguousUrlError("an invalid IPv6 address")
        rest = netloc[len(bracket) :]
    else:
        if host.endswith(".") or not _HOST_NAME.match(host):
            raise AmbiguousUrlError("an invalid host name")
        rest = netloc[len(host) :]
    if rest:
        if not re.fullmatch(r":[0-9]{1,5}", rest):
            raise AmbiguousUrlError("an invalid port")
        try:
            port = parts.port
        except ValueError:
            raise AmbiguousUrlError("an invalid port") from None
        if port is None or not 0 < port < 65536:
            raise AmbiguousUrlError("an invalid port")
    _same_host_for_urllib3(url, host)
    return parts


def _same_host_for_urllib3(url: str, host: str) -> None:
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url  # the parser under requests, which MSAL and certless use

    try:
        theirs = (parse_url(url).host or "").lower()
    except LocationParseError:
        raise AmbiguousUrlError("a URL the HTTP client cannot read") from None
    if theirs.strip("[]") != host.strip("[]"):
        raise AmbiguousUrlError("a host the HTTP client would read differently")
