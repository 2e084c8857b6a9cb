"""Import cost in a fresh process: ``import certless`` against ``import msal`` and ``import azure.identity``.

Each import runs in its own new interpreter, several times; the median is printed. Also shown: the cost of
the first real use (``from certless import CertlessCredential``), which loads azure-core; msal itself
loads only when the first token is requested.

    .venv/bin/python benchmarks/import_time.py [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
CASES = {
    "import msal": "import msal",
    "import azure.identity": "import azure.identity",
    "import certless": "import certless",
    "from certless import CertlessCredential": "from certless import CertlessCredential",
}


def measure(stmt: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(stmt=stmt)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        times.append(float(out.stdout.strip()) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    results = {name: measure(stmt, args.runs) for name, stmt in CASES.items()}
    print(f"median of {args.runs} fresh processes")
    for name, ms in results.items():
        print(f"  {name:<42} {ms:8.2f} ms")
    budget = results["import msal"] * 1.10
    verdict = "meets" if results["import certless"] <= budget else "misses"
    print(f"  budget for 'import certless' (import msal + 10%): {budget:.2f} ms -> {verdict} it")
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, certless; print('msal' in sys.modules, 'azure.core' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    print(f"  after 'import certless': msal loaded: {loaded[0]}, azure.core loaded: {loaded[1]}")


if __name__ == "__main__":
    main()
