"""`python -m emulator`: serve the emulator, or print a host's environment for a running one.

python -m emulator --plan plan.json [--fault imds=429,429,200] [--latency entra-token=20ms]
                   [--fic-propagation 30s] [--token-lifetime imds=120s] [--state PATH]
python -m emulator env --host appservice [--workload NAME] [--state PATH] [--format export|json]
python -m emulator user-token --user NAME --client APP --scope SCOPE [--state PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from emulator.errors import EmulatorError, RecordsError
from emulator.faults import ENDPOINTS, FaultPlan, parse_duration
from emulator.hosts import HOST_KINDS, check_loopback
from emulator.managed_identity.limits import IdentityLimits

if TYPE_CHECKING:
    from emulator.emulator import Emulator
    from emulator.records import Records

STATE_SCHEMA = "certless.emulator-state/v1"


class _Parser(argparse.ArgumentParser):
    """A usage mistake is one line naming the option and what was expected (exit 2), as in certless-ops."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help)\n")


PROJECT_ROOT = Path(__file__).resolve().parents[1]


def default_state_path() -> Path:
    """Absolute, so that `env`, `user-token` and `./dev emulate --stop` find it from any folder."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime).resolve() / "certless-emulator.json"
    return PROJECT_ROOT / ".certless-run" / "emulator.json"


def host_envs(emu: Emulator, records: Records) -> dict[str, dict[str, dict[str, str]]]:
    """Each workload's environment on each host kind it can run on (AKS kinds only with a cluster)."""
    envs: dict[str, dict[str, dict[str, str]]] = {}
    for w in records.workloads:
        envs[w.name] = {}
        for host in HOST_KINDS:
            if host.startswith("aks") and not w.cluster:
                continue
            envs[w.name][host] = emu.host_env(host, w.name)
    return envs


def state_document(emu: Emulator, records: Records, source: Path) -> dict[str, Any]:
    """What `env` and `user-token` read: addresses, the CA, the control secret and the host envs."""
    return {
        "schema": STATE_SCHEMA,
        "pid": os.getpid(),
        "source": str(source.resolve()),
        "entra_url": emu.entra_url,
        "imds_url": emu.imds_url,
        "identity_endpoint": emu.identity_endpoint,
        "ca_bundle_path": emu.ca_bundle_path,
        "control_secret": emu.control_secret,
        "env": host_envs(emu, records),
    }


def live_state(path: Path) -> dict[str, Any] | None:
    """The state file at ``path`` when the emulator that wrote it still runs, else None."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("schema") != STATE_SCHEMA:
        return None
    pid = state.get("pid")
    return state if isinstance(pid, int) and pid != os.getpid() and alive(pid) else None


def refuse_second_start(path: Path) -> None:
    running = live_state(path)
    if running is not None:
        raise EmulatorError(
            f"an emulator is already running (pid {running['pid']}, state file {path}): stop it first "
            "('./dev emulate --stop', or Ctrl-C where it runs), or give this one another --state"
        )


def _serve_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m emulator",
        description="Local Entra (HTTPS), IMDS, App Service identity endpoint and AKS issuers on loopback. "
        "Use 'python -m emulator env ...' to print a host's environment for a running emulator.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--plan", type=Path, help="offline plan JSON (certless.plan/v1)")
    src.add_argument("--records", type=Path, help="records JSON (certless.emulator-records/v1)")
    p.add_argument("--host", default="127.0.0.1", help="bind address; only 127.0.0.1 is accepted")
    p.add_argument(
        "--ports",
        default="0,0,0",
        metavar="ENTRA,IMDS,APPSERVICE",
        help="fixed ports (0 = any free port), e.g. 8443,8080,8081 for stable settings",
    )
    p.add_argument("--state", type=Path, default=None, help="state file for 'env'")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="ENDPOINT=STEPS",
        help=f"scripted answers, e.g. imds=429,429,200; endpoints: {', '.join(ENDPOINTS)}",
    )
    p.add_argument(
        "--latency",
        action="append",
        default=[],
        metavar="ENDPOINT=DURATION",
        help="added latency, e.g. entra-token=20ms",
    )
    p.add_argument(
        "--token-lifetime",
        action="append",
        default=[],
        metavar="ENDPOINT=DURATION",
        help="lifetime of issued tokens, e.g. imds=120s",
    )
    p.add_argument(
        "--fic-propagation",
        default="0s",
        metavar="DURATION",
        help="FICs answer AADSTS70021 for this long after they appear, e.g. 30s",
    )
    p.add_argument("--clock-skew", default="0s", metavar="DURATION", help="run the emulator's clock ahead")
    p.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="disable the identity endpoints' 20 requests/s and 5 concurrent limits",
    )
    p.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME",
        help="a test user for the sign-in page (NAME@contoso.example); repeat for more",
    )
    p.add_argument("--log", action="store_true", help="print one line per request (never a token value)")
    p.add_argument(
        "--no-token-cache",
        action="store_true",
        help="sign a new managed-identity token per request (real hosts hand out a cached one for ~24 h)",
    )
    return p


def _env_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m emulator env",
        description="Print the environment that makes a local process look like HOST running WORKLOAD.",
    )
    p.add_argument("--host", required=True, choices=HOST_KINDS)
    p.add_argument("--workload", help="the plan's workload (default: its only one, when it has one)")
    p.add_argument("--plan", type=Path, help="the plan the running emulator serves (checked if given)")
    p.add_argument("--state", type=Path, default=None)
    p.add_argument("--format", choices=("export", "json"), default="export")
    return p


def _user_token_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m emulator user-token",
        description="Print a signed-in user's access token from the running emulator, as the client app "
        "receives it for SCOPE: what a web API gets in its Authorization header. Only the token is printed.",
    )
    p.add_argument("--user", required=True, help="the user's name, e.g. alice (alice@contoso.example)")
    p.add_argument("--client", required=True, help="the client app: its client ID or a workload name")
    p.add_argument("--scope", required=True, help="e.g. api://<API client ID>/access_as_user")
    p.add_argument("--state", type=Path, default=None, help="the running emulator's state file")
    return p


def serve(argv: Sequence[str]) -> int:
    args = _serve_parser().parse_args(argv)
    bind = check_loopback(args.host)
    from emulator.emulator import Emulator  # the server stack loads only when serving
    from emulator.records import Records

    records = Records.from_plan(args.plan) if args.plan else Records.from_file(args.records)
    for name in args.user:
        records.add_user(name)
    faults = FaultPlan()
    faults.apply_cli(args.fault, args.latency, args.token_lifetime)
    faults.fic_propagation(parse_duration(args.fic_propagation, "--fic-propagation"))
    skew = parse_duration(args.clock_skew, "--clock-skew")
    state_path = (args.state or default_state_path()).absolute()
    refuse_second_start(state_path)
    state_path.parent.mkdir(parents=True, exist_ok=True)
    work_dir = state_path.parent / f"emulator-{os.getpid()}"
    limits = None if args.no_rate_limit else IdentityLimits()
    stop = threading.Event()
    reader_gone = threading.Event()

    def log_entry(entry: dict[str, Any]) -> None:
        try:
            _print_entry(entry)
        except BrokenPipeError:  # `--log | head`: the reader left; stop serving and end as a closed pipe does
            reader_gone.set()
            stop.set()

    emu = Emulator(
        records,
        faults=faults,
        identity_limits=limits,
        host=bind,
        ports=_ports(args.ports),
        work_dir=work_dir,
        cache_identity_tokens=not args.no_token_cache,
        on_request=log_entry if args.log else None,
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    emu.start()
    try:
        emu.clock_skew(skew)
        state = state_document(emu, records, args.plan or args.records)
        write_private(state_path, json.dumps(state, indent=2))
        print(f"Entra (authority host): {emu.entra_url}")
        print(f"IMDS:                   {emu.imds_url}")
        print(f"App Service endpoint:   {emu.identity_endpoint}")
        for c in records.clusters:
            print(f"AKS issuer {c.name}: {c.issuer_url} (served at {emu.entra_url}/aks/{c.name}/)")
        print(f"CA bundle:              {emu.ca_bundle_path}")
        print(f"State file:             {state_path}")
        print(f"Tenants:                {', '.join(records.tenants)}")
        print(f"Workloads:              {', '.join(w.name for w in records.workloads)}")
        if records.users:
            print(f"Test users:             {', '.join(u.upn for u in records.users)}")
        print("Press Ctrl-C to stop.", flush=True)
        stop.wait()
        if reader_gone.is_set():
            raise BrokenPipeError
    finally:
        emu.stop()
        state_path.unlink(missing_ok=True)
        shutil.rmtree(work_dir, ignore_errors=True)  # the projected token files
        print("emulator stopped", flush=True)
    return 0


_LOG_FIELDS = (
    "host",
    "client_id",
    "scope",
    "resource",
    "selector",
    "identity",
    "credential",
    "error_code",
    "fault",
)


def _print_entry(entry: dict[str, Any]) -> None:
    details = " ".join(f"{k}={entry[k]}" for k in _LOG_FIELDS if k in entry)
    limited = " (throttled)" if entry.get("limited") else ""
    print(
        f"{entry['endpoint']:16s} {entry['method']:4s} {entry['status']} {entry['path']} {details}{limited}",
        flush=True,
    )


def _ports(text: str) -> tuple[int, int, int]:
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() and int(p) <= 65535 for p in parts):
        raise RecordsError(
            "--ports", repr(text), "three port numbers ENTRA,IMDS,APPSERVICE (0 = any free port)"
        )
    entra, imds, appservice = (int(p) for p in parts)
    return entra, imds, appservice


def write_private(path: Path, text: str) -> None:
    # The state holds each host's IDENTITY_HEADER: readable by this user only.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _running_state(state_arg: Path | None) -> dict[str, Any]:
    """The state file of a running emulator, or a one-line error saying how to start one."""
    state_path = state_arg or default_state_path()
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise EmulatorError(
            f"no running emulator found (state file {state_path} is missing or unreadable): start one with "
            "'./dev emulate' or 'python -m emulator --plan plan.json' (and the same --state, if you gave one)"
        ) from None
    if not isinstance(state, dict) or state.get("schema") != STATE_SCHEMA:
        raise RecordsError(
            "state file", str(state_path), f"a {STATE_SCHEMA} document written by the emulator"
        )
    if not alive(int(state.get("pid", 0))):
        raise EmulatorError(
            f"the emulator that wrote {state_path} (pid {state.get('pid')}) is no longer running"
        )
    return state


def env(argv: Sequence[str]) -> int:
    args = _env_parser().parse_args(argv)
    state = _running_state(args.state)
    if args.plan is not None and str(args.plan.resolve()) != state.get("source"):
        raise RecordsError(
            "--plan", str(args.plan), f"the plan the running emulator serves ({state.get('source')})"
        )
    envs = state.get("env", {})
    if args.workload is None and len(envs) == 1:
        args.workload = next(iter(envs))
    if args.workload not in envs:
        shown = "(not given)" if args.workload is None else args.workload
        raise RecordsError("--workload", shown, f"one of {', '.join(sorted(envs)) or 'none'}")
    if args.host not in envs[args.workload]:
        raise RecordsError(
            "--host", args.host, f"one of {', '.join(envs[args.workload])} for workload {args.workload}"
        )
    values: dict[str, str] = envs[args.workload][args.host]
    if args.format == "json":
        print(json.dumps(values, indent=2, sort_keys=True))
    else:
        for key in sorted(values):
            print(f"export {key}={shlex.quote(values[key])}")
    return 0


def user_token(argv: Sequence[str]) -> int:
    """Asks the running emulator (its keys live in that process only) through its control endpoint."""
    import ssl
    import urllib.error
    import urllib.parse
    import urllib.request

    from emulator.control import CONTROL_HEADER, USER_TOKEN_PATH

    args = _user_token_parser().parse_args(argv)
    state = _running_state(args.state)
    secret = state.get("control_secret")
    if not isinstance(secret, str) or not secret:
        raise EmulatorError("the running emulator has no control endpoint: restart it with this version")
    tls = ssl.create_default_context(cafile=str(state.get("ca_bundle_path", "")))
    body = urllib.parse.urlencode({"user": args.user, "client": args.client, "scope": args.scope}).encode()
    base = str(state.get("entra_url", ""))
    if not base.startswith(("https://127.0.0.1:", "https://localhost:")):
        raise RecordsError("state file entra_url", base[:80], "the emulator's https loopback address")
    request = urllib.request.Request(  # noqa: S310 - https on loopback, checked above
        f"{base}{USER_TOKEN_PATH}", data=body, headers={CONTROL_HEADER: secret}
    )
    try:
        with urllib.request.urlopen(request, context=tls, timeout=30) as answer:  # noqa: S310
            token = json.loads(answer.read())["access_token"]
    except urllib.error.HTTPError as exc:
        try:
            reason = str(json.loads(exc.read()).get("error", exc.reason))
        except (ValueError, AttributeError):
            reason = str(exc.reason)
        raise EmulatorError(f"user-token refused ({exc.code}): {reason.splitlines()[0][:300]}") from None
    except (OSError, ValueError, KeyError) as exc:
        raise EmulatorError(f"cannot reach the running emulator at {state.get('entra_url')}: {exc}") from None
    print(token)
    return 0


def alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A process that ended but is not yet reaped (a zombie: its parent has not waited for it) is gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no /proc (not Linux): the signal check above is all there is
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def console_main() -> int:
    """`python -m emulator`: output into a closed pipe ends as in every entry point of the project.

    That is: no traceback, exit status 141 (128 + SIGPIPE, what a shell reports; see reader_left in
    certless_ops/__main__.py, which the emulator does not import), stdout pointed at devnull so the
    interpreter's final flush cannot raise again.
    """
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] == "env":
            return env(args[1:])
        if args and args[0] == "user-token":
            return user_token(args[1:])
        return serve(args)
    except EmulatorError as exc:
        print(f"emulator: error: {exc}", file=sys.stderr)
        return 2
