"""Stack-config validation cost: importing ``stackconfig`` and loading the shipped stacks.

The config arrives as the Pulumi CLI hands it over (structured values as JSON text). Printed: the
import time in a fresh interpreter (median of several), and the median / p99 time of one ``load`` of
each shipped stack, of a bad config (the error path), and of a large generated config (64 workloads).

    .venv/bin/python benchmarks/config_load.py [--runs 300]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from certless_ops.plan.config import load_stack_config  # noqa: E402
from stackconfig import ConfigError, load  # noqa: E402

# The whole import, Pulumi SDKs included (components/ loads them): what a `pulumi preview` pays.
IMPORT_PROBE = "import time; t = time.perf_counter(); import stackconfig; print(time.perf_counter() - t)"


def wire(stack: str) -> dict[str, str]:
    return dict(load_stack_config(ROOT, stack).wire)


def many_workloads(count: int) -> dict[str, str]:
    cfg: dict[str, Any] = {k: json.loads(v) if v[:1] in ("{", "[") else v for k, v in wire("prod").items()}
    template = cfg["certless:workloads"]["orders-api"]
    for i in range(count):
        clone = copy.deepcopy(template)
        clone["containerApp"]["name"] = f"api-{i}"
        cfg["certless:workloads"][f"api-{i}"] = clone
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in cfg.items()}


def timed(raw: dict[str, Any], stack: str, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        with contextlib.suppress(ConfigError):
            load(raw, set(), stack)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def import_ms(runs: int) -> float:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, check=True, cwd=ROOT
        )
        samples.append(float(out.stdout.strip()) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    bad = wire("prod")
    bad["certless:workloads"] = bad["certless:workloads"].replace('"targetPort": 80', '"targetPort": "x"')
    cases = {
        "prod (3 workloads)": (wire("prod"), "prod"),
        "dev": (wire("dev"), "dev"),
        "prod, bad targetPort": (bad, "prod"),
        "64 extra workloads": (many_workloads(64), "prod"),
    }
    print(f"{'case':<26} {'median ms':>10} {'p99 ms':>8}")
    print(f"{'import stackconfig':<26} {import_ms(5):>10.1f} {'':>8}")
    for name, (raw, stack) in cases.items():
        median, p99 = timed(raw, stack, args.runs if "64" not in name else max(10, args.runs // 10))
        print(f"{name:<26} {median:>10.3f} {p99:>8.3f}")


if __name__ == "__main__":
    main()
