"""The reliability suite: bad inputs, faults, load, processes on one host and leaks, one table per surface.

Loopback only: every fault is injected by the emulator (``emu.faults``), every host is the emulator's.
A fake clock stands in for the caller's waiting between retries (time shown as "virtual"); faults that
need real time (held connections, FIC propagation) take it for real. Bounded: the default run takes a
few minutes on a laptop. Exit status 1 when a target is missed.

    .venv/bin/python benchmarks/reliability.py [--generated 300] [--threads 16] [--calls 1000]
                                               [--processes 8,24,64] [--skip processes,plan]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "tests", ROOT / "benchmarks"):  # the records and fake clock of tests/runtime/
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import reliability_inputs as inputs  # noqa: E402
from runtime.support import HOST_VARS, IDS, ISSUER, STORAGE, FakeClock, build_records  # noqa: E402

from certless import clear_process_caches, credential_from_settings  # noqa: E402
from certless._chain import FIRST_BACKOFF  # noqa: E402
from certless.errors import CertlessError  # noqa: E402
from emulator import Emulator  # noqa: E402

SECRET = "dev-only-secret-value"  # the records' client secret: configured, so it must never be shown
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
PERMANENT_LIMIT = 30.0
"""Wall seconds within which a permanent fault must have become a clear error."""


# ------------------------------------------------------------------------------------------- collection


@dataclass
class Seen:
    """Everything the suite saw come out of the code: scanned for leaks at the end."""

    outputs: dict[str, list[str]] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    headers: set[str] = field(default_factory=set)

    def add(self, kind: str, text: str) -> None:
        self.outputs.setdefault(kind, []).append(text)


class _Capture(logging.Handler):
    def __init__(self, seen: Seen) -> None:
        super().__init__(logging.DEBUG)
        self.seen = seen
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        kind = "emulator logs" if record.name.startswith(("emulator", "aiohttp")) else "debug logs"
        with contextlib.suppress(Exception):
            self.seen.add(kind, self.format(record))


@contextlib.contextmanager
def host_env(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    for name in [*HOST_VARS, *(n for n in os.environ if n.lower().startswith("azuread__"))]:
        os.environ.pop(name, None)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(c) for c in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, row in enumerate(cells):
        print(
            "  "
            + "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


# ------------------------------------------------------------------------------------------- bad inputs


def bad_inputs(generated: int) -> bool:
    ok = True
    rows = []
    failures: list[str] = []
    for name, run in (
        ("stack config (plan)", inputs.stack_config_outcomes),
        ("runtime settings", inputs.settings_outcomes),
    ):
        start = time.perf_counter()
        outcomes = run(generated)
        elapsed = time.perf_counter() - start
        for origin in ("generated", "fixed"):
            mine = [o for o in outcomes if o.origin == origin]
            clean = sum(o.clean for o in mine)
            keys = len({o.key for o in mine})
            rows.append(
                [
                    name,
                    origin,
                    len(mine),
                    clean,
                    f"{100 * clean / max(1, len(mine)):.1f}%",
                    keys,
                    f"{elapsed:.1f} s",
                ]
            )
            ok &= clean == len(mine) and (origin == "fixed" or len(mine) >= 300)
        failures += [f"{o.surface} {o.key}: {o.why}" for o in outcomes if not o.clean]
    table(
        "bad inputs: tried vs clean errors (one line, naming the key, value capped, no traceback, < 5 s)",
        ["surface", "origin", "tried", "clean", "clean %", "keys", "time"],
        rows,
    )
    for f in failures[:10]:
        print(f"    not clean: {f}")
    print("  target: 100% clean on >= 300 generated per surface" + ("  [met]" if ok else "  [MISSED]"))
    return ok


# ----------------------------------------------------------------------------------------------- faults


@dataclass
class Scenario:
    name: str
    host: str  # host kind for emu.host_env
    workload: str
    expect: str  # "survive" or "error"
    setup: Setup
    env: dict[str, str] = field(default_factory=dict)
    clock_scale: float = 0.0
    endpoint: str = "appservice"


Setup = Callable[[Emulator, dict[str, str]], object]


def _script(endpoint: str, steps: list[str]) -> Setup:
    return lambda emu, env: emu.faults.script(endpoint, steps)


def _skew(seconds: float) -> Setup:
    return lambda emu, env: emu.clock_skew(seconds)


def _token_file(action: str) -> Setup:
    def setup(emu: Emulator, env: dict[str, str]) -> None:
        path = Path(env["AZURE_FEDERATED_TOKEN_FILE"])
        if action == "missing":
            # The projector stops (a pod whose volume is gone): the file is absent for good.
            for key, projector in list(emu._projectors.items()):
                if key[3] == str(path):
                    projector.stop()
            path.unlink(missing_ok=True)
        elif action == "expired":
            # Written by a clock 15 min behind with a 1 min life, then never rotated: expired well beyond
            # the 5 min skew Entra allows an assertion.
            emu.clock_skew(-900)
            projector = emu.project_service_account_token(
                "aks-prod", "ingest", "ingest-sa", path, lifetime=60
            )
            projector.stop()
            emu.clock_skew(0)
        elif action == "rotated":
            # A fresh token replaces the file between calls (the kubelet rotates at 80% of its life).
            emu.project_service_account_token("aks-prod", "ingest", "ingest-sa", path, lifetime=3600)

    return setup


def _new_fic(emu: Emulator, env: dict[str, str]) -> None:
    emu.faults.fic_propagation(3)
    emu.add_federated_credential(
        IDS.app_unfederated, name="just-deployed", issuer=ISSUER, subject=IDS.identity_principal
    )


def scenarios() -> list[Scenario]:
    out: list[Scenario] = []
    for fault in (
        "404",
        "410",
        "429",
        "500",
        "502",
        "503",
        "504",
        "timeout=2s",
        "reset",
        "malformed",
        "malformed=html",
    ):
        out.append(
            Scenario(
                f"identity endpoint {fault} x2 (App Service)",
                "appservice",
                "web",
                "survive",
                _script("appservice", [fault, fault]),
            )
        )
    for fault in ("410", "429", "503", "malformed"):
        out.append(
            Scenario(
                f"identity endpoint {fault} x2 (IMDS)",
                "vm",
                "web",
                "survive",
                _script("imds", [fault, fault]),
                endpoint="imds",
            )
        )
    for fault in ("429", "500", "503", "timeout=2s", "reset"):
        out.append(
            Scenario(
                f"Entra token {fault} x1", "appservice", "web", "survive", _script("entra-token", [fault])
            )
        )
    out.append(
        Scenario(
            "Entra discovery malformed x1",
            "appservice",
            "web",
            "survive",
            _script("entra-discovery", ["malformed"]),
        )
    )
    out.append(
        Scenario(
            "Entra discovery 503 x2",
            "appservice",
            "web",
            "survive",
            _script("entra-discovery", ["503", "503"]),
        )
    )
    for skew in (-240, 240):
        out.append(
            Scenario(
                f"clock skew {skew:+d} s",
                "appservice",
                "web",
                "survive",
                _skew(skew),
            )
        )
    out.append(
        Scenario(
            "token file rotated",
            "aks-direct",
            "ingest",
            "survive",
            _token_file("rotated"),
            endpoint="entra-token",
        )
    )
    out.append(
        Scenario(
            "token file expired",
            "aks-direct",
            "ingest",
            "error",
            _token_file("expired"),
            endpoint="entra-token",
        )
    )
    out.append(
        Scenario(
            "token file missing",
            "aks-direct",
            "ingest",
            "error",
            _token_file("missing"),
            endpoint="entra-token",
        )
    )
    out.append(
        Scenario(
            "identity not attached (permanent)",
            "appservice",
            "web",
            "error",
            lambda emu, env: None,
            env={"AzureAd__ClientCredentials__0__ManagedIdentityClientId": IDS.other_identity},
        )
    )
    out.append(
        Scenario(
            "no FIC matches (permanent)",
            "appservice",
            "web",
            "error",
            lambda emu, env: None,
            env={"AzureAd__ClientId": IDS.app_unfederated},
        )
    )
    out.append(
        Scenario(
            "identity endpoint 503 forever",
            "appservice",
            "web",
            "error",
            _script("appservice", ["503"] * 200),
        )
    )
    # Last: it gives the app of the permanent case above a FIC that matches (new, so still propagating).
    out.append(
        Scenario(
            "FIC propagation 3 s (FicPropagationRetrySeconds=60)",
            "appservice",
            "web",
            "survive",
            _new_fic,
            env={"AzureAd__ClientId": IDS.app_unfederated, "AzureAd__FicPropagationRetrySeconds": "60"},
            clock_scale=1.0,
        )
    )
    return out


def run_scenario(emu: Emulator, sc: Scenario, seen: Seen) -> list[Any]:
    emu.faults.clear()
    emu.clock_skew(0)
    clear_process_caches()
    env = emu.host_env(host=sc.host, workload=sc.workload)
    env.update(sc.env)
    if "IDENTITY_HEADER" in env:
        seen.headers.add(env["IDENTITY_HEADER"])
    clock = FakeClock(scale=sc.clock_scale)
    got: str | None = None
    errors: list[BaseException] = []
    calls = 0
    with host_env(env):
        sc.setup(emu, env)
        emu.reset_log()
        start = time.perf_counter()
        with credential_from_settings(clock=clock) as credential:
            seen.add("reprs", repr(credential))
            # The caller retries a failed call later, as an app's next request would: up to 6 calls,
            # each after the runtime's own backoff has passed.
            for attempt in range(6):
                calls += 1
                try:
                    got = credential.get_token(STORAGE).token
                    break
                except CertlessError as exc:
                    errors.append(exc)
                    seen.add("exceptions", f"{exc!s}\n{exc!r}")
                    if sc.expect == "error" and attempt >= 1:
                        break
                    clock.advance(FIRST_BACKOFF * 2**attempt + 1)
                except Exception as exc:  # not a CertlessError: a defect
                    errors.append(exc)
                    seen.add("exceptions", f"{exc!s}\n{exc!r}")
                    break
            if sc.name == "token file rotated" and got is not None:
                seen.tokens.add(got)
                _token_file("rotated")(emu, env)
                clear_process_caches()
                with credential_from_settings(clock=clock) as again:
                    calls += 1
                    try:
                        got = again.get_token(STORAGE).token
                    except CertlessError as exc:
                        errors.append(exc)
                        got = None
        wall = time.perf_counter() - start
    counters = emu.counters
    identity = counters.get("appservice", 0) + counters.get("imds", 0)
    if got:
        seen.tokens.add(got)
    foreign = [e for e in errors if not isinstance(e, CertlessError)]
    if sc.expect == "survive":
        ok = got is not None and not foreign
        result = "survived" if ok else f"FAILED: {str(errors[-1])[:80] if errors else 'no token'}"
    else:
        last = errors[-1] if errors else None
        ok = got is None and isinstance(last, CertlessError) and wall < PERMANENT_LIMIT
        result = f"clear error ({type(last).__name__})" if ok else f"NOT CLEAR: {last!r}"[:90]
    return [
        sc.name,
        result,
        calls,
        f"{wall:.2f} s",
        f"{clock.offset:.0f} s",
        identity,
        counters.get("entra-token", 0),
        ok,
    ]


def faults(seen: Seen) -> bool:
    rows = []
    with Emulator(build_records(), identity_limits=None) as emu:
        for sc in scenarios():
            rows.append(run_scenario(emu, sc, seen))
        seen.add("emulator logs", json.dumps(emu.requests, default=str))
        internal = emu.internal_errors
    ok = all(r[-1] for r in rows) and not internal
    table(
        "faults: transient ones survived, permanent ones a clear error in bounded time",
        ["scenario", "result", "calls", "wall", "virtual", "identity req", "token req"],
        [r[:-1] for r in rows],
    )
    if internal:
        print(f"    emulator internal errors: {internal[:3]}")
    print(
        "  target: every transient fault survived; every permanent fault a clear error"
        + ("  [met]" if ok else "  [MISSED]")
    )
    return ok


# ------------------------------------------------------------------------------------------------- load


def load(threads: int, calls: int, seen: Seen) -> bool:
    with Emulator(build_records()) as emu:  # the identity endpoint's documented limits are on
        for endpoint in ("appservice", "entra-discovery", "entra-token"):
            emu.faults.latency(endpoint, 0.02)
        clear_process_caches()
        env = emu.host_env(host="appservice", workload="web")
        seen.headers.add(env.get("IDENTITY_HEADER", ""))
        with host_env(env), credential_from_settings() as credential:
            emu.reset_log()
            latencies: list[float] = []
            failures: Counter[str] = Counter()
            lock = threading.Lock()
            barrier = threading.Barrier(threads)

            def worker() -> None:
                mine: list[float] = []
                barrier.wait()
                for _ in range(calls):
                    t = time.perf_counter()
                    try:
                        token = credential.get_token(STORAGE).token
                    except Exception as exc:
                        with lock:
                            failures[type(exc).__name__] += 1
                        continue
                    mine.append(time.perf_counter() - t)
                with lock:
                    latencies.extend(mine)
                    seen.tokens.add(token)

            pool = [threading.Thread(target=worker) for _ in range(threads)]
            start = time.perf_counter()
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            elapsed = time.perf_counter() - start
        counters = emu.counters
        throttled = sum(1 for r in emu.requests if r.get("limited"))
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000  # noqa: E731
    total = threads * calls
    ok = not failures and throttled == 0
    table(
        "load held: one credential, many threads, warm after the first token",
        [
            "threads x calls",
            "failures",
            "p50 ms",
            "p99 ms",
            "max ms",
            "calls/s",
            "identity req",
            "token req",
            "throttled",
        ],
        [
            [
                f"{threads} x {calls}",
                sum(failures.values()),
                f"{p(0.5):.3f}",
                f"{p(0.99):.3f}",
                f"{latencies[-1] * 1000:.1f}",
                f"{total / elapsed:,.0f}",
                counters.get("appservice", 0),
                counters.get("entra-token", 0),
                throttled,
            ]
        ],
    )
    print(
        "  target: 0 failures, 0 throttled, 1 identity and 1 token request"
        + ("  [met]" if ok else "  [MISSED]")
    )
    return ok


# ------------------------------------------------------------------------------------ processes on a host


def processes(counts: list[int]) -> bool:
    """benchmarks/host_single_flight.py in its own process: its spawned workers re-import the main
    module, which must stay light (this one loads Hypothesis, the Pulumi SDKs and the emulator)."""
    import subprocess

    script = ROOT / "benchmarks" / "host_single_flight.py"
    done = subprocess.run(
        [sys.executable, str(script), "--processes", ",".join(map(str, counts))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    print("\n" + done.stdout.rstrip())
    rows = [line.split() for line in done.stdout.splitlines() if line.strip()[:1].isdigit()]
    shared = [r for r in rows if len(r) >= 6 and r[1] == "on"]
    # N, on, identity, token, throttled, failed, slowest
    ok = (
        done.returncode == 0
        and len(shared) == len(counts)
        and all(r[2:6] == ["1", "1", "0", "0"] for r in shared)
    )
    if done.returncode != 0:
        print(f"    failed: {done.stderr.strip()[-300:]}")
    print(
        "  target: with single flight 1 identity and 1 token request, 0 throttled"
        + ("  [met]" if ok else "  [MISSED]")
    )
    return ok


# ------------------------------------------------------------------------------------------------ leaks


def cli_outputs(seen: Seen) -> None:
    from certless._cli import main as certless_cli

    with Emulator(build_records(), identity_limits=None) as emu:
        clear_process_caches()
        env = emu.host_env(host="appservice", workload="web")
        seen.headers.add(env["IDENTITY_HEADER"])
        with host_env(env):
            for kind, argv in (("token", ["token", "--scope", STORAGE]), ("doctor", ["doctor"])):
                out, err = io.StringIO(), io.StringIO()
                with contextlib.redirect_stderr(err):
                    code = certless_cli(argv, out=out)
                seen.add(kind, f"exit {code}\n{out.getvalue()}\n{err.getvalue()}")
        # A failing doctor: its advice must not carry the header or a token either.
        with host_env({**env, "AzureAd__ClientId": IDS.app_unfederated}):
            clear_process_caches()
            out = io.StringIO()
            with contextlib.redirect_stderr(io.StringIO()):
                certless_cli(["doctor"], out=out)
            seen.add("doctor", out.getvalue())
        seen.add("emulator logs", json.dumps(emu.requests, default=str))


def plan_output(seen: Seen) -> None:
    from certless_ops.plan.config import load_stack_config
    from certless_ops.plan.runner import run_plan
    from certless_ops.plan.writer import dumps

    for stack in ("dev", "prod"):
        seen.add("plan JSON", dumps(run_plan(load_stack_config(ROOT, stack))))


def demo_output(seen: Seen, timeout: float) -> str:
    import subprocess

    try:
        done = subprocess.run(
            [sys.executable, "-m", "certless_ops", "demo"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"not scanned (over {timeout:.0f} s)"
    seen.add("demo", done.stdout + done.stderr)
    return f"exit {done.returncode}"


def leaks(seen: Seen, demo_note: str) -> bool:
    needles = {t for t in seen.tokens if t} | {h for h in seen.headers if h} | {SECRET}
    rows = []
    total = 0
    for kind in (
        "demo",
        "doctor",
        "token",
        "debug logs",
        "reprs",
        "exceptions",
        "plan JSON",
        "emulator logs",
    ):
        texts = seen.outputs.get(kind, [])
        found: Counter[str] = Counter()
        for text in texts:
            for needle in needles:
                if needle in text:
                    found["token/header/secret"] += 1
            found["JWT-shaped"] += len(JWT.findall(text))
        n = sum(found.values())
        total += n
        size = sum(len(t) for t in texts)
        note = demo_note if kind == "demo" else ""
        rows.append([kind, len(texts), f"{size:,}", found["token/header/secret"], found["JWT-shaped"], note])
    table(
        f"leaks: outputs scanned for {len(seen.tokens)} issued tokens, {len(seen.headers)} identity headers, "
        "the configured secret, and anything JWT-shaped (assertions)",
        ["output", "items", "characters", "known secrets", "JWT-shaped", ""],
        rows,
    )
    ok = total == 0 and all(seen.outputs.get(k) for k in ("doctor", "token", "debug logs", "exceptions"))
    print("  target: 0 leaks" + ("  [met]" if ok else "  [MISSED]"))
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", type=int, default=300, help="generated bad inputs per surface")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--calls", type=int, default=1000, help="get_token calls per thread")
    parser.add_argument("--processes", default="8,24,64", help="process counts for the one-host table")
    parser.add_argument("--skip", default="", help="comma-separated: processes, plan, demo")
    args = parser.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    started = time.perf_counter()
    seen = Seen()
    capture = _Capture(seen)
    logging.getLogger().addHandler(capture)
    logging.getLogger().setLevel(logging.DEBUG)
    for noisy in ("hypothesis", "asyncio", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    surfaces: dict[str, Callable[[], bool]] = {
        "bad inputs": lambda: bad_inputs(args.generated),
        "faults": lambda: faults(seen),
        "load": lambda: load(args.threads, args.calls, seen),
        "processes": lambda: processes([int(n) for n in args.processes.split(",") if n.strip()]),
    }
    results: dict[str, bool] = {}
    for name, surface in surfaces.items():
        if name in skip:
            continue
        start = time.perf_counter()
        try:
            results[name] = surface()
        except Exception as exc:  # a surface that breaks is a missed target, not the end of the run
            print(f"\n{name}: the surface itself failed: {type(exc).__name__}: {str(exc)[:200]}")
            results[name] = False
        print(f"  time: {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    cli_outputs(seen)
    print(f"\n(leak sources: cli {time.perf_counter() - start:.1f} s", end="")
    start = time.perf_counter()
    if "plan" not in skip:
        plan_output(seen)
    print(f", plan {time.perf_counter() - start:.1f} s", end="")
    start = time.perf_counter()
    demo_note = "skipped" if "demo" in skip else demo_output(seen, timeout=120)
    print(f", demo {time.perf_counter() - start:.1f} s)")
    logging.getLogger().removeHandler(capture)
    results["leaks"] = leaks(seen, demo_note)
    print(
        f"\n{sum(results.values())}/{len(results)} surfaces met their targets"
        f" in {time.perf_counter() - started:.0f} s: "
        + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in results.items())
    )
    sys.exit(0 if all(results.values()) else 1)


if __name__ == "__main__":
    main()
