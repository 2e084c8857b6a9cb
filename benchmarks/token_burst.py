"""Cold-cache burst and cold first token: how many upstream requests each library makes.

200 threads ask for the same token at once on a cold cache (a new credential each round), against the
emulator with 20 ms added to every request. Printed per library: identity-endpoint requests and token
requests per round (median and max over the rounds), then the requests behind one cold first token.

    .venv/bin/python benchmarks/token_burst.py [--threads 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from typing import Any

from _anchors import CONTENDERS, counts, emulator, med_max

from emulator import Emulator


def burst(
    emu: Emulator, make: Callable[[Emulator], Callable[[], Any]], threads: int
) -> tuple[dict[str, int], int, float]:
    emu.reset_log()
    get = make(emu)
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            get()
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return counts(emu), len(errors), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with emulator() as emu:
        print("cold first token (requests behind one get_token on a fresh credential, first in this process)")
        for name, make in CONTENDERS.items():
            emu.reset_log()
            make(emu)()
            c = counts(emu)
            print(
                f"  {name:<15} identity {c['identity']}, token {c['token']}, OIDC discovery {c['discovery']}"
            )
        print()
        print(f"{args.threads} threads at once on a cold cache, {args.rounds} rounds, 20 ms per request")
        for name, make in CONTENDERS.items():
            ident: list[float] = []
            token: list[float] = []
            seconds: list[float] = []
            failures = 0
            for _ in range(args.rounds):
                c, errors, elapsed = burst(emu, make, args.threads)
                ident.append(c["identity"])
                token.append(c["token"])
                seconds.append(elapsed)
                failures += errors
            print(
                f"  {name:<15} identity requests {med_max(ident)}; token requests {med_max(token)}; "
                f"wall {med_max([round(s, 3) for s in seconds])} s; failed calls {failures}"
            )


if __name__ == "__main__":
    main()
