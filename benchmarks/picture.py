"""The trust-chain picture of a 100-workload plan in mermaid, svg and png. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/picture.py [--workloads 100] [--grants 2] [--repeat 5] [--fresh]

The plan comes from ``benchmarks/plan_scaling.py``'s generated stack (each workload its own identity and
app, the five compute kinds in turn, ``--grants`` role assignments each). Planning 100 workloads takes
about half a minute, so the plan file is kept in the temp folder, keyed by the stack config (the picture
reads only workloads, identities and apps, which code changes rarely move; ``--fresh`` plans again).
Each format is then drawn ``--repeat`` times in this process, as ``plan --format`` draws it after
planning: median and worst wall time, and the median CPU time of this process plus its children (svg
and png run Graphviz's ``dot``). Target: under 1 s for mermaid and svg.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from plan_scaling import stack_config  # benchmarks/, this script's folder

from certless_ops.plan.picture import mermaid, trust_graph
from certless_ops.plan.picture_dot import render_image

REPO = Path(__file__).resolve().parents[1]


def cached_plan(workloads: int, grants: int, fresh: bool) -> tuple[dict[str, Any], Path, float | None]:
    """The plan of the generated stack; the seconds planning took, or None when it came from the cache."""
    config = stack_config(workloads, grants=grants)
    key = hashlib.sha256(config.encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / "certless-bench-picture"
    folder.mkdir(exist_ok=True)
    plan_file = folder / f"plan-{workloads}w-{grants}g-{key}.json"
    took = None
    if fresh or not plan_file.is_file():
        cfg = folder / f"Pulumi.bench{workloads}.yaml"
        cfg.write_text(config, encoding="utf-8")
        started = time.perf_counter()
        cmd = [sys.executable, "-m", "certless_ops", "plan", "--config-file", str(cfg), "--quiet"]
        proc = subprocess.run(
            [*cmd, "--json", str(plan_file)], cwd=REPO, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise SystemExit(f"planning {workloads} workloads failed:\n{proc.stderr}")
        took = time.perf_counter() - started
    return json.loads(plan_file.read_text(encoding="utf-8")), plan_file, took


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def measure(draw: Any, repeat: int) -> tuple[float, float, float, int]:
    walls, cpus, size = [], [], 0
    for _ in range(repeat):
        cpu, started = _cpu(), time.perf_counter()
        size = len(draw())
        walls.append(time.perf_counter() - started)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls), max(walls), statistics.median(cpus), size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workloads", type=int, default=100)
    parser.add_argument("--grants", type=int, default=2, help="role assignments per workload (default 2)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="plan again instead of using the cached plan")
    args = parser.parse_args()

    plan, plan_file, took = cached_plan(args.workloads, args.grants, args.fresh)
    graph = trust_graph(plan)
    print(f"plan: {plan_file} ({f'planned in {took:.1f} s' if took is not None else 'cached'})")
    print(
        f"picture of {len(plan['outputs']['workloads'])} workloads: {len(graph.nodes)} nodes, "
        f"{len(graph.edges)} links ({sum(e.broken for e in graph.edges)} broken)"
    )
    print(f"{'format':<8} {'median s':>9} {'worst s':>8} {'cpu s':>7} {'bytes':>9}  target")
    for fmt, draw, target in (
        ("mermaid", lambda: mermaid(plan), "< 1 s"),
        ("svg", lambda: render_image(plan, "svg"), "< 1 s"),
        ("png", lambda: render_image(plan, "png"), ""),
    ):
        median, worst, cpu, size = measure(draw, args.repeat)
        verdict = ("met" if median < 1.0 else "MISSED") if target else ""
        print(f"{fmt:<8} {median:>9.3f} {worst:>8.3f} {cpu:>7.3f} {size:>9}  {target} {verdict}".rstrip())


if __name__ == "__main__":
    main()
