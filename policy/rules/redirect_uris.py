"""What a web redirect URI may look like: absolute https, or http on the loopback hosts Entra allows.

One checker for the stack configuration (refused before any resource) and for the policy pack (an
app registration declared by other code). It reads the text as written and refuses every form a URL
parser could read in two ways (user info, backslashes, percent-encoded separators, dot segments,
non-ASCII hosts, an uppercase scheme or host, whitespace), not only the forms that are plainly wrong.

Entra's rules (learn.microsoft.com/entra/identity-platform/reply-url): https, or http for localhost
only; the port of a loopback URI is ignored when matching; ``[::1]`` is not supported; at most 256
characters; no ``! $ ' ( ) , ;``; wildcards only for work-or-school apps and strongly discouraged. A
fragment is never part of a redirection endpoint (RFC 6749 section 3.1.2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import unquote

MAX_LENGTH: Final = 256
LOOPBACK_HOSTS: Final = ("localhost", "127.0.0.1")
EXPECTED: Final = (
    "an absolute https URL (http only on http://localhost or http://127.0.0.1, any port),"
    " like https://app.example.com/signin-oidc"
)

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PCHAR = r"(?:[A-Za-z0-9\-._~:@&=+]|%[0-9A-Fa-f]{2})"
_URL = re.compile(
    rf"^(?P<scheme>https?)://(?P<host>{_LABEL}(?:\.{_LABEL})*)(?::(?P<port>[0-9]{{1,5}}))?"
    rf"(?P<path>(?:/{_PCHAR}*)*)(?:\?(?P<query>(?:{_PCHAR}|[/?])*))?$"
)
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_UNSUPPORTED = "!$'(),;"  # Entra: "Redirect URIs do not support special characters"

Problem = Literal["wildcard", "scheme", "form"]


@dataclass(frozen=True)
class RedirectUri:
    """A redirect URI that passed: its scheme, host, port and path (``/`` when it has none)."""

    text: str
    scheme: str
    host: str
    port: int | None
    path: str

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}" + (f":{self.port}" if self.port is not None else "")

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS

    @property
    def match_key(self) -> str:
        """What Entra compares: a loopback URI's port is ignored."""
        if self.loopback:
            return self.text.replace(f":{self.port}", "", 1) if self.port is not None else self.text
        return self.text


def redirect_uri_problem(uri: object) -> tuple[Problem, str] | None:
    """(kind, why) when the URI is refused, None when it is a redirect URI Entra and browsers read alike."""
    parsed = parse_redirect_uri(uri)
    return parsed if isinstance(parsed, tuple) else None


def parse_redirect_uri(uri: object) -> RedirectUri | tuple[Problem, str]:
    if not isinstance(uri, str) or not uri:
        return "form", "is not a non-empty string"
    if len(uri) > MAX_LENGTH:
        return "form", f"is {len(uri)} characters long; Entra takes at most {MAX_LENGTH}"
    if "*" in uri:
        return "wildcard", "contains '*': wildcard redirect URIs are refused (list each URI)"
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in uri):
        return "form", "contains whitespace or a control character"
    if not uri.isascii():
        return "form", (
            "contains non-ASCII characters; write an internationalized host in its xn-- form"
            " and percent-encode the path"
        )
    if "#" in uri:
        return "form", "has a fragment ('#'); a redirect URI never carries one"
    if "\\" in uri:
        return "form", "contains a backslash, which browsers read as '/'"
    scheme = _SCHEME.match(uri)
    if scheme is None or not uri[scheme.end() :].startswith("//"):
        return "form", "is not an absolute URL (scheme://host/path)"
    name = scheme.group(1)
    if name.lower() not in ("http", "https"):
        return "scheme", f"uses the scheme {name!r}"
    if name != name.lower():
        return "form", f"has the scheme {name!r} in uppercase (write {name.lower()}://)"
    authority = re.split(r"[/?]", uri[scheme.end() + 2 :], maxsplit=1)[0]
    if "@" in authority:
        return "form", "has user info ('…@' before the host); the real host would be what follows '@'"
    if authority.startswith("["):
        return "form", (
            "has an IPv6 host; Entra does not support [::1] (use http://127.0.0.1 or http://localhost)"
        )
    if any(ch in uri for ch in _UNSUPPORTED):
        return "form", "contains one of ! $ ' ( ) , ; which Entra does not support in redirect URIs"
    if authority != authority.lower():
        return "form", "has uppercase letters in the host (write it in lowercase)"
    if "%" in authority:
        return "form", "has a percent-encoded host"
    found = _URL.match(uri)
    if found is None:
        return (
            "form",
            "is not scheme://host[:port][/path][?query] with a host of letters, digits, '-' and '.'",
        )
    port = int(found.group("port")) if found.group("port") is not None else None
    if port is not None and not 1 <= port <= 65535:
        return "form", f"has port {port}, outside 1-65535"
    path = found.group("path") or "/"
    segments = [unquote(s) for s in path.split("/")]
    if (
        any(s in (".", "..") for s in segments)
        or any(ch in unquote(path) for ch in ("\\", "\x00"))
        or re.search(r"%2f", path, re.IGNORECASE)
    ):
        return "form", "has a dot segment or an encoded separator in its path, which browsers rewrite"
    host = found.group("host")
    if name == "http" and host not in LOOPBACK_HOSTS:
        return "scheme", f"uses http on host {host!r}, which is not a loopback host"
    return RedirectUri(uri, name, host, port, path)
