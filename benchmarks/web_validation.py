"""A web API's per-request cost of validating a bearer token with ``certless.web``, next to PyJWT's own
``jwt.decode`` with the key in hand (the floor a validating API cannot go below without caching).

Printed: microseconds per call for a token seen before (validated once, then served from the bounded
cache of validated tokens), for a token seen for the first time (JWKS key cached, signature verified),
and PyJWT's decode; target: under 50 us for the cached-key token.

    .venv/bin/python benchmarks/web_validation.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import jwt
from _anchors import APP, emulator

API_SCOPE = f"api://{APP}/access_as_user"


def per_call(fn: Callable[[], Any], calls: int) -> float:
    fn()
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    from certless import load_settings
    from certless.web import TokenValidator

    with emulator() as emu:
        validator = TokenValidator(load_settings())
        token = emu.user_token("bench-user", APP, API_SCOPE)
        fresh = [emu.user_token(f"user-{i}", APP, API_SCOPE) for i in range(200)]
        validator.validate(token)
        jwks, issuers = validator._metadata()
        key = jwks.get_signing_key_from_jwt(token).key
        floor = per_call(
            lambda: jwt.decode(
                token, key, algorithms=["RS256"], audience=list(validator.audiences), issuer=list(issuers)
            ),
            args.calls // 10,
        )
        seen = per_call(lambda: validator.validate(token, scopes=["access_as_user"]), args.calls)
        start = time.perf_counter()
        for t in fresh:  # each token once: a real signature check per call
            validator.validate(t)
        first = (time.perf_counter() - start) / len(fresh) * 1e6
    print("bearer-token validation, microseconds per call (best of 5)")
    print(f"  certless.web, token seen before      {seen:>8.2f} us")
    print(f"  certless.web, first sight of a token {first:>8.2f} us")
    print(f"  PyJWT jwt.decode with the key (floor) {floor:>7.2f} us")
    print(f"  ratio seen-before / PyJWT decode      {seen / floor:>7.2f}")
    print(f"  ratio first-sight / PyJWT decode      {first / floor:>7.2f}")


if __name__ == "__main__":
    main()
