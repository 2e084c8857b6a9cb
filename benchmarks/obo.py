"""On-behalf-of: upstream requests under a burst, and the cost of a cached token, next to app-only.

A web API builds one ``OnBehalfOfCredential`` per request from the caller's token. Printed:
- burst: 200 threads, each a new credential for the same user and scope on a cold cache, per round a
  new user: identity-endpoint and token requests per round (target: 1 token request);
- cached: microseconds per ``get_token`` for a cached OBO token (same credential, and a new credential
  per call as a web API does, also from a new copy of the token each time, as each request brings)
  next to the app-only cached path (``CertlessCredential``) and
  azure-identity's ``OnBehalfOfCredential`` with the same client assertion, same run; the ratio to
  app-only (target: within 2x).

    .venv/bin/python benchmarks/obo.py [--threads 200] [--rounds 3] [--calls 20000]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from typing import Any

from _anchors import APP, EXCHANGE, IDENTITY, SCOPE, TENANT, counts, emulator, med_max

from emulator import Emulator

DOWNSTREAM = "https://storage.azure.com/user_impersonation"
API_SCOPE = f"api://{APP}/access_as_user"


def burst(emu: Emulator, user: str, threads: int) -> tuple[dict[str, int], int]:
    from certless import OnBehalfOfCredential

    user_token = emu.user_token(user, APP, API_SCOPE)
    emu.reset_log()
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            OnBehalfOfCredential(user_token).get_token(DOWNSTREAM)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return counts(emu), len(errors)


def fresh(token: str) -> str:
    """An equal string that is a new object, as each request's Authorization header is."""
    return token[:-1] + token[-1]


def per_call(get: Callable[[], Any], calls: int) -> float:
    get()  # warm: the first call fetches
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            get()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    from azure.identity import ManagedIdentityCredential
    from azure.identity import OnBehalfOfCredential as AzureObo

    from certless import CertlessCredential, OnBehalfOfCredential, load_settings

    with emulator() as emu:
        identity: list[dict[str, int]] = []
        tokens: list[float] = []
        for round_ in range(args.rounds):
            c, errors = burst(emu, f"burst-user-{round_}", args.threads)
            if errors:
                raise SystemExit(f"{errors} of {args.threads} callers failed")
            identity.append(c["identity"])  # type: ignore[arg-type]
            tokens.append(c["token"])
        print(f"burst: {args.threads} threads, new credential each, one user and scope, {args.rounds} rounds")
        print(f"  identity requests per round: {med_max([float(x) for x in identity])}")  # type: ignore[arg-type]
        print(f"  token requests per round:    {med_max(tokens)}")

        user_token = emu.user_token("cached-user", APP, API_SCOPE)
        settings = load_settings()
        app_only = CertlessCredential(settings)
        same = OnBehalfOfCredential(user_token, settings)
        mi = ManagedIdentityCredential(client_id=IDENTITY)
        anchor = AzureObo(
            TENANT,
            APP,
            client_assertion_func=lambda: mi.get_token(f"{EXCHANGE}/.default").token,
            user_assertion=user_token,
            authority=emu.entra_url,
            connection_verify=emu.ca_bundle_path,
            disable_instance_discovery=True,
        )
        figures = {
            "certless app-only (CertlessCredential)": per_call(lambda: app_only.get_token(SCOPE), args.calls),
            "certless OBO, same credential": per_call(lambda: same.get_token(DOWNSTREAM), args.calls),
            "certless OBO, new credential per call": per_call(
                lambda: OnBehalfOfCredential(user_token, settings).get_token(DOWNSTREAM), args.calls
            ),
            # As a web API sees it: each request's header is a new string object (nothing cached on it).
            "certless OBO, new credential + token copy": per_call(
                lambda: OnBehalfOfCredential(fresh(user_token), settings).get_token(DOWNSTREAM), args.calls
            ),
            "  (the token copy alone)": per_call(lambda: fresh(user_token), args.calls),
            "azure-identity OnBehalfOfCredential": per_call(
                lambda: anchor.get_token(DOWNSTREAM), max(args.calls // 20, 200)
            ),
        }
        base = figures["certless app-only (CertlessCredential)"]
        print("cached get_token, microseconds per call (best of 5), ratio to certless app-only")
        for name, us in figures.items():
            print(f"  {name:<40} {us:>9.2f} us   x{us / base:.2f}")


if __name__ == "__main__":
    main()
