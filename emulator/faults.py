"""Fault injection, per endpoint, scriptable from tests and from the CLI.

Endpoints: "entra-discovery", "entra-keys", "entra-token", "imds", "appservice", "oidc" (AKS issuers).
A script is a queue of steps consumed one per request; "ok" (or 200) lets a request through untouched.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from emulator.errors import RecordsError

ENDPOINTS = (
    "entra-discovery",
    "entra-keys",
    "entra-token",
    "entra-authorize",
    "imds",
    "appservice",
    "oidc",
)
FAULT_STATUSES = (404, 410, 429, 500, 502, 503, 504)
# Broken HTTP-200 answers (content type JSON unless the body says otherwise): what a half-written
# response, a captive portal or a confused proxy in front of an identity endpoint may send.
MALFORMED_BODIES = {
    "truncated": '{"access_token": "eyJ0eXAi',
    "html": "<html><body>Sign in to the network</body></html>",
    "empty": "",
    "array": "[]",
    "no-token": '{"token_type": "Bearer", "expires_in": "3599"}',
    "not-a-jwt": '{"access_token": "opaque", "expires_in": "3599", "expires_on": "9999999999", '
    '"token_type": "Bearer", "resource": "api://AzureADTokenExchange"}',
}


@dataclass(frozen=True)
class Fault:
    """One scripted answer. kind: ok | status | timeout | reset | malformed | unreachable."""

    kind: str
    status: int = 0
    retry_after: int | None = None
    hold_seconds: float = 30.0
    variant: str = "truncated"  # for malformed: which broken HTTP-200 body (MALFORMED_BODIES)

    @classmethod
    def parse(cls, text: str | int | Fault) -> Fault:
        """`429`, `429:retry-after=2`, `ok`/`200`, `timeout[=5s]`, `reset`, `malformed[=VARIANT]`,
        `unreachable`."""
        if isinstance(text, Fault):
            return text
        raw = str(text).strip().lower()
        if raw in ("ok", "200"):
            return cls("ok")
        if raw in ("reset", "malformed", "unreachable"):
            return cls(raw)
        if raw.startswith("malformed="):
            variant = raw.partition("=")[2]
            if variant in MALFORMED_BODIES:
                return cls("malformed", variant=variant)
        if raw.startswith("timeout"):
            hold = raw.partition("=")[2]
            return cls("timeout", hold_seconds=parse_duration(hold, "timeout") if hold else 30.0)
        m = re.fullmatch(r"(\d{3})(?::retry-after=(\d+))?", raw)
        if m and int(m.group(1)) in FAULT_STATUSES:
            status = int(m.group(1))
            retry_after = int(m.group(2)) if m.group(2) else (1 if status in (429, 503) else None)
            return cls("status", status, retry_after)
        raise RecordsError(
            "fault step",
            repr(text),
            f"ok, 200, one of {', '.join(map(str, FAULT_STATUSES))} (optionally ':retry-after=N'), "
            f"timeout[=DURATION], reset, malformed[={'|'.join(MALFORMED_BODIES)}] or unreachable",
        )


def parse_duration(text: str, what: str) -> float:
    """`20ms`, `1.5s`, `2m`, `1h`, or a bare number of seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", text)
    if not m:
        raise RecordsError(what, repr(text), "a duration such as 20ms, 1.5s, 30s, 2m or 1h")
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[m.group(2) or "s"]
    return float(m.group(1)) * scale


def _check_endpoint(endpoint: str) -> str:
    if endpoint not in ENDPOINTS:
        raise RecordsError("endpoint", repr(endpoint), f"one of {', '.join(ENDPOINTS)}")
    return endpoint


class FaultPlan:
    """Thread-safe fault settings; the server consults it on every request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[Fault]] = {}
        self._latency: dict[str, float] = {}
        self._lifetimes: dict[str, int] = {}
        self.fic_propagation_seconds: float = 0.0

    def script(self, endpoint: str, steps: Iterable[str | int | Fault]) -> FaultPlan:
        """Queue answers for the next requests to `endpoint` (appends to what is already queued)."""
        parsed = [Fault.parse(s) for s in steps]
        with self._lock:
            self._scripts.setdefault(_check_endpoint(endpoint), deque()).extend(parsed)
        return self

    def latency(self, endpoint: str, seconds: float) -> FaultPlan:
        if seconds < 0:
            raise RecordsError("latency", str(seconds), "zero or more seconds")
        with self._lock:
            self._latency[_check_endpoint(endpoint)] = seconds
        return self

    def token_lifetime(self, endpoint: str, seconds: int) -> FaultPlan:
        """Issue tokens that live `seconds` from this endpoint (short-lived token tests)."""
        if seconds <= 0:
            raise RecordsError("token lifetime", str(seconds), "a positive number of seconds")
        with self._lock:
            self._lifetimes[_check_endpoint(endpoint)] = int(seconds)
        return self

    def fic_propagation(self, seconds: float) -> FaultPlan:
        """FICs are invisible to the token endpoint for `seconds` after they appear (AADSTS70021)."""
        if seconds < 0:
            raise RecordsError("FIC propagation delay", str(seconds), "zero or more seconds")
        self.fic_propagation_seconds = float(seconds)
        return self

    def clear(self) -> None:
        with self._lock:
            self._scripts.clear()
            self._latency.clear()
            self._lifetimes.clear()
        self.fic_propagation_seconds = 0.0

    # ---- read by the server ------------------------------------------------------------------------

    def next_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            queue = self._scripts.get(endpoint)
            if not queue:
                return None
            step = queue.popleft()
        return None if step.kind == "ok" else step

    def pending(self, endpoint: str) -> int:
        with self._lock:
            return len(self._scripts.get(endpoint, ()))

    def latency_for(self, endpoint: str) -> float:
        return self._latency.get(endpoint, 0.0)

    def lifetime_for(self, endpoint: str) -> int | None:
        return self._lifetimes.get(endpoint)

    def apply_cli(self, faults: Iterable[str], latencies: Iterable[str], lifetimes: Iterable[str]) -> None:
        """`--fault imds=429,429,200`, `--latency entra-token=20ms`, `--token-lifetime imds=120s`."""
        for spec in faults:
            endpoint, steps = _split_spec(spec, "--fault", "ENDPOINT=STEP,STEP,...")
            self.script(endpoint, [s for s in steps.split(",") if s])
        for spec in latencies:
            endpoint, value = _split_spec(spec, "--latency", "ENDPOINT=DURATION")
            self.latency(endpoint, parse_duration(value, "--latency"))
        for spec in lifetimes:
            endpoint, value = _split_spec(spec, "--token-lifetime", "ENDPOINT=DURATION")
            self.token_lifetime(endpoint, int(parse_duration(value, "--token-lifetime")))


def _split_spec(spec: str, option: str, form: str) -> tuple[str, str]:
    endpoint, sep, value = spec.partition("=")
    if not sep or not value:
        raise RecordsError(option, repr(spec), form)
    return _check_endpoint(endpoint.strip()), value.strip()
