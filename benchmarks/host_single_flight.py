"""Processes on one host cold-starting at once, with and without the host-wide single flight.

N worker processes (multiprocessing spawn, like gunicorn/uvicorn workers) each build a credential from the
same App Service settings, wait for one common signal, then ask for one token. The emulator enforces the
identity endpoint's documented limits (20 requests/s and 5 at once per host) and answers every identity
and Entra request 300 ms late. Counted at the emulator: identity requests (throttled ones included),
token requests, throttled answers; timed: the slowest process from the signal to its token.

    .venv/bin/python benchmarks/host_single_flight.py [--processes 8,24,64]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):  # the workers and records the tests use (tests/runtime/)
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from runtime.host_processes import cold_start  # noqa: E402

LATENCY = 0.3
MEMORY_DIR = "/dev/shm" if Path("/dev/shm").is_dir() else None  # a tmpfs, as docs/runtime.md advises


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", default="8,24,64", help="comma-separated process counts")
    args = parser.parse_args()
    # Imported here, not at the top: spawned workers re-import this file and need none of it.
    from runtime.support import build_records

    from emulator import Emulator

    counts = [int(n) for n in args.processes.split(",") if n.strip()]
    print("processes on one host, cold start at once; identity endpoint: 20 req/s, 5 at once, 300 ms")
    print(
        f"  {'N':>3}  {'single flight':<13}  {'identity':>8}  {'token':>5}  {'throttled':>9}  "
        f"{'failed':>6}  {'slowest start':>13}"
    )
    with Emulator(build_records()) as emu:
        for endpoint in ("appservice", "imds", "entra-discovery", "entra-token"):
            emu.faults.latency(endpoint, LATENCY)
        for n in counts:
            for shared in (False, True):
                with tempfile.TemporaryDirectory(prefix="certless-bench-", dir=MEMORY_DIR) as tmp:
                    env = emu.host_env(host="appservice", workload="web")
                    if shared:
                        env["AzureAd__TokenCacheDirectory"] = str(Path(tmp) / "cache")
                    outcome = cold_start(emu, env, n, timeout=600)
                print(
                    f"  {n:>3}  {'on' if shared else 'off':<13}  {outcome.identity_requests:>8}  "
                    f"{outcome.token_requests:>5}  {outcome.throttled:>9}  {len(outcome.failures):>6}  "
                    f"{outcome.slowest_start:>11.2f} s"
                )
                for failure in outcome.failures[:3]:
                    print(f"       failure: {failure[:200]}")
    print("target: with single flight, 1 identity request and 1 token request, 0 throttled, for N up to 64")


if __name__ == "__main__":
    main()
