"""Import cost in a fresh process: ``import certless`` against ``import msal`` and ``import azure.identity``.

Each import runs in its own new interpreter, several times; the median is printed. Also shown: the cost of
the first real use (``from certless import CertlessCredential``), which loads azure-core; msal itself
loads only when the first token is requested.

Then the ops command line: the wall time of `certless-ops --help` (budget 150 ms) and of each
command's `--help`, next to a bare `python -c pass` in the same run.

    .venv/bin/python benchmarks/import_time.py [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
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


OPS = ROOT / ".venv" / "bin" / "certless-ops"
HELP_BUDGET_MS = 150.0


def wall_ms(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True, cwd=ROOT)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def ops_help(runs: int) -> None:
    if not OPS.exists():
        print("certless-ops is not installed (./dev setup); skipping the command-line figures")
        return
    listing = subprocess.run([str(OPS), "--help"], capture_output=True, text=True, check=True).stdout
    commands = [line.split()[0] for line in listing.splitlines() if line.startswith("  ") and line[2] != " "]
    bare = wall_ms([sys.executable, "-c", "pass"], runs)
    top = wall_ms([str(OPS), "--help"], runs)
    print(f"wall time, median of {runs} runs")
    print(f"  {'python -c pass':<42} {bare:8.2f} ms")
    verdict = "meets" if top <= HELP_BUDGET_MS else "misses"
    print(
        f"  {'certless-ops --help':<42} {top:8.2f} ms  ({top / bare:.2f}x bare python; budget "
        f"{HELP_BUDGET_MS:.0f} ms -> {verdict} it)"
    )
    for command in commands:
        ms = wall_ms([str(OPS), command, "--help"], runs)
        print(f"  {'certless-ops ' + command + ' --help':<42} {ms:8.2f} ms  ({ms / bare:.2f}x)")


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
    ops_help(args.runs)


if __name__ == "__main__":
    main()
