"""Mutation testing (mutmut) per area: how many small, realistic bugs the tests catch.

Each area is mutated in its own copy of the repository (mutmut rewrites the code under ``mutants/``), its
tests run against every mutant, and the score per area is printed: killed / (killed + survived), with
timeouts counted as killed (the mutant hung the tests) and mutants no test reaches listed apart.
Not for CI: a full run takes a long time. ``--files`` narrows an area to some of its files.

    .venv/bin/python benchmarks/mutation.py [--areas stackconfig,policy] [--files stackconfig/rules.py]
                                            [--max-children 4] [--timeout 3600] [--survivors]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Area:
    name: str
    paths: tuple[str, ...]
    tests: tuple[str, ...]


AREAS = {
    "certless": Area("certless", ("certless",), ("tests/runtime",)),
    "stackconfig": Area(
        "stackconfig",
        ("stackconfig",),
        ("tests/components", "tests/ops/test_config_schema.py", "tests/ops/test_reliability_bad_inputs.py"),
    ),
    "policy": Area("policy/rules", ("policy/rules",), ("tests/policy",)),
    # The emulator's FIC matching (issuer, subject and audience of an assertion) is in entra/app_flows.py.
    "emulator-fic": Area("emulator FIC matching", ("emulator/entra/app_flows.py",), ("tests/emulator",)),
}


def _copy_repo(into: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.split(
        b"\0"
    )
    for raw in files:
        if not raw:
            continue
        rel = Path(raw.decode())
        target = into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / rel).is_file():
            shutil.copy2(ROOT / rel, target)
    (into / ".venv").symlink_to(ROOT / ".venv")


def _configure(work: Path, paths: tuple[str, ...], tests: tuple[str, ...]) -> None:
    top = sorted({p.name for p in work.iterdir() if p.name not in (".venv", "mutants", ".git")})
    lines = [
        "",
        "[tool.mutmut]",
        f"source_paths = {json.dumps(list(paths))}",
        # Everything else the tests import or read (the Pulumi program, fixtures, stack files).
        f"also_copy = {json.dumps(top)}",
        f"pytest_add_cli_args_test_selection = {json.dumps(list(tests))}",
        'pytest_add_cli_args = ["-q", "-x", "-p", "no:cacheprovider"]',
    ]
    pyproject = work / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8") + "\n".join(lines) + "\n", encoding="utf-8")


def run_area(
    area: Area, files: list[str], max_children: int, timeout: float, survivors: bool
) -> dict[str, int]:
    paths = tuple(f for f in files if any(f.startswith(p) for p in area.paths)) or area.paths
    with tempfile.TemporaryDirectory(prefix="certless-mutation-") as tmp:
        work = Path(tmp)
        _copy_repo(work)
        _configure(work, paths, area.tests)
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        mutmut = str(ROOT / ".venv" / "bin" / "mutmut")
        try:
            done = subprocess.run(
                [mutmut, "run", "--max-children", str(max_children)],
                cwd=work,
                env=env,
                timeout=timeout,
                check=False,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                print(f"  {area.name}: mutmut exited {done.returncode}:")
                for line in (done.stdout + done.stderr).strip().splitlines()[-15:]:
                    print(f"    {line[:200]}")
        except subprocess.TimeoutExpired:
            print(f"  {area.name}: stopped after {timeout:.0f} s; the figures cover the mutants run so far")
        subprocess.run([mutmut, "export-cicd-stats"], cwd=work, env=env, check=False, capture_output=True)
        stats_file = work / "mutants" / "mutmut-cicd-stats.json"
        stats = json.loads(stats_file.read_text()) if stats_file.is_file() else {}
        if survivors:
            out = subprocess.run(
                [mutmut, "results"], cwd=work, env=env, capture_output=True, text=True, check=False
            )
            for line in out.stdout.splitlines():
                if "survived" in line:
                    print(f"    {line.strip()}")
    return {k: int(v) for k, v in stats.items() if isinstance(v, int | float)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", default=",".join(AREAS), help=f"comma-separated: {', '.join(AREAS)}")
    parser.add_argument("--files", default="", help="comma-separated files to narrow the areas to")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per area")
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants")
    parser.add_argument("--tests", default="", help="comma-separated test paths instead of the area's")
    args = parser.parse_args()
    files = [f.strip() for f in args.files.split(",") if f.strip()]
    rows = []
    for key in [a.strip() for a in args.areas.split(",") if a.strip()]:
        area = AREAS[key]
        start = time.perf_counter()
        if args.tests:
            area = Area(area.name, area.paths, tuple(t.strip() for t in args.tests.split(",") if t.strip()))
        s = run_area(area, files, args.max_children, args.timeout, args.survivors)
        killed = s.get("killed", 0) + s.get("timeout", 0)
        judged = killed + s.get("survived", 0)
        score = f"{100 * killed / judged:.1f}%" if judged else "-"
        rows.append(
            (
                area.name,
                s.get("total", 0),
                killed,
                s.get("survived", 0),
                s.get("no_tests", 0),
                score,
                f"{time.perf_counter() - start:.0f} s",
            )
        )
    header = ("area", "mutants", "killed", "survived", "no tests", "score", "time")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for n, row in enumerate([header, *rows]):
        print(
            "  ".join(
                str(c).ljust(w) if i == 0 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print("target: >= 95% of mutants killed per area")
    sys.exit(0)


if __name__ == "__main__":
    main()
