"""The command line: ``token`` shows what a token says, ``doctor`` explains what is wrong and how to fix it.

Plain text only (no rich dependency in the runtime); the token itself is printed only on request.
``--json [FILE]`` works as on every certless-ops command: the result as one JSON document in FILE or,
without FILE, on stdout (the text report then goes to stderr). Exit status: 0 done, 1 a failed check or
token request, 2 a usage or settings mistake (one line on stderr).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from certless import _jwt
from certless.errors import CertlessError, NoCredentialError, SettingsError, SourceFailure

DOCTOR_SCOPE = "https://management.azure.com/.default"
TOKEN_EXCHANGE_APP_ID = "fb60f99c-7a34-4190-8149-302f77469936"  # "AAD Token Exchange Endpoint"


def _when(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _claims_lines(token: str, indent: str = "  ") -> list[str]:
    try:
        summary = _jwt.summary(token)
    except _jwt.NotAJwtError as exc:
        return [f"{indent}(opaque token: {exc})"]
    lines = []
    for key, value in summary.items():
        shown = _when(value) if key in ("iat", "nbf", "exp") and isinstance(value, (int, float)) else value
        lines.append(f"{indent}{key:<10} {shown}")
    return lines


def _version() -> str:
    import certless

    return certless.__version__


class _Parser(argparse.ArgumentParser):
    """A usage mistake is one line naming the option and what was expected (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help)\n")


def _json_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--json",
        metavar="FILE",
        nargs="?",
        const="-",
        default=None,
        help=f"write {what} as JSON to FILE, or to stdout without FILE (the report then goes to stderr)",
    )


def _write_json(document: dict[str, Any], target: str) -> None:
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        Path(target).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _UsageError(f"--json {target!r} cannot be written: {exc.strerror}") from None


class _UsageError(Exception):
    pass


def _prog() -> str:
    """The name the usage shows: `certless` for the console script, `python -m certless` for the module."""
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "python -m certless" if name in ("", "__main__.py", "-c") else name


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=_prog(), description="Certificateless Entra tokens from the AzureAd settings.")
    parser.add_argument("--settings", metavar="PATH", help="appsettings.json or its folder (default: ./)")
    parser.add_argument("--section", default="AzureAd", help="configuration section (default: AzureAd)")
    parser.add_argument("--version", action="version", version=f"certless {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what certless does (to stderr)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    token = sub.add_parser("token", help="get a token and print its expiry and claims")
    token.add_argument("--scope", required=True, help="e.g. https://storage.azure.com/.default")
    token.add_argument("--tenant", help="request the token from another tenant")
    token.add_argument("--show-token", action="store_true", help="also print the token itself (a secret!)")
    _json_option(token, "the scope, expiry, fingerprint and claims (the token only with --show-token)")
    doctor = sub.add_parser("doctor", help="check this host, the identity and the FIC; explain failures")
    doctor.add_argument(
        "--scope", default=DOCTOR_SCOPE, help=f"scope for the final check (default {DOCTOR_SCOPE})"
    )
    _json_option(doctor, "each check's outcome and fix")
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """`out` receives the text report (default: stdout, or stderr when stdout carries the JSON)."""
    args = _parser().parse_args(argv)
    out = out or (sys.stderr if args.json == "-" else sys.stdout)
    if args.verbose:  # certless' own logger only: libraries below may log request details
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("certless: %(message)s"))
        logger = logging.getLogger("certless")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        if args.command == "token":
            return _token(args, out)
        return _doctor(args, out)
    except (SettingsError, _UsageError) as exc:
        # A settings mistake is a configuration error, the same for both commands: one line, exit 2.
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, CertlessError):
        return exc.summary + (f" (fix: {exc.fix})" if exc.fix else "")
    return " ".join(str(exc).split())


def _token(args: argparse.Namespace, out: TextIO) -> int:
    from certless.credential import CertlessCredential
    from certless.settings import load_settings

    settings = load_settings(args.settings, args.section)
    try:
        with CertlessCredential(settings) as credential:
            token = credential.get_token(args.scope, tenant_id=args.tenant)
    except SettingsError:
        raise
    except CertlessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json is not None:
        try:
            claims: dict[str, Any] | None = _jwt.summary(token.token)
        except _jwt.NotAJwtError:
            claims = None
        document: dict[str, Any] = {
            "scope": args.scope,
            "expiresOn": token.expires_on,
            "fingerprint": _jwt.fingerprint(token.token),
            "claims": claims,
        }
        if args.show_token:  # the one purpose for which the token itself is written
            document["token"] = token.token
        _write_json(document, args.json)
    remaining = token.expires_on - datetime.datetime.now(datetime.UTC).timestamp()
    print(f"scope      {args.scope}", file=out)
    print(f"expires    {_when(token.expires_on)} (in {remaining / 60:.0f} min)", file=out)
    print(
        f"token      {_jwt.fingerprint(token.token)}" + ("" if args.show_token else " (use --show-token)"),
        file=out,
    )
    print("claims", file=out)
    for line in _claims_lines(token.token):
        print(line, file=out)
    if args.show_token and args.json is None:
        print(token.token, file=out)
    return 0


class _Report:
    """The doctor's findings: printed as they come, and kept for --json."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.failed = False
        self.checks: list[dict[str, Any]] = []

    def ok(self, what: str, detail: str = "") -> None:
        print(f"[ ok ] {what}" + (f": {detail}" if detail else ""), file=self.out)
        self.checks.append({"status": "ok", "check": what, "detail": detail, "info": []})

    def info(self, text: str) -> None:
        print(f"       {text}", file=self.out)
        if self.checks:
            self.checks[-1]["info"].append(text)

    def note(self, text: str) -> None:
        print(f"[note] {text}", file=self.out)
        self.checks.append({"status": "note", "check": "note", "detail": text, "info": []})

    def fail(self, what: str, exc: BaseException) -> None:
        self.failed = True
        print(f"[FAIL] {what}", file=self.out)
        message = exc.summary if isinstance(exc, CertlessError) else str(exc)
        for line in str(message).splitlines():
            print(f"       {line}", file=self.out)
        fix = getattr(exc, "fix", None)
        if fix:
            print(f"  fix: {fix}", file=self.out)
        self.checks.append({"status": "fail", "check": what, "detail": str(message), "fix": fix, "info": []})

    def document(self) -> dict[str, Any]:
        return {"passed": not self.failed, "checks": self.checks}


def _doctor(args: argparse.Namespace, out: TextIO) -> int:
    report = _Report(out)
    code = _diagnose(args, report)
    if args.json is not None:
        _write_json(report.document(), args.json)
    return code


def _failure_detail(failure: SourceFailure) -> str:
    """Why a source failed, shown under its label: without the fix (a line of its own) or the label."""
    error = failure.error
    text = error.summary if isinstance(error, CertlessError) else failure.reason
    return str(text).removeprefix(f"{failure.source}: ")


def _audience(claims: dict[str, Any]) -> str:
    """``aud`` as a person reads it: a service-account token carries a list (RFC 7519 allows both)."""
    aud = claims.get("aud")
    return ", ".join(map(str, aud)) if isinstance(aud, list) else str(aud)


def _diagnose(args: argparse.Namespace, report: _Report) -> int:
    from certless._http import IDENTITY_POLICY
    from certless._parity import dotnet_differences
    from certless._sources.managed_identity import (
        AKS_VARS,
        ENDPOINT_VARS,
        ManagedIdentitySource,
        detect_host,
    )
    from certless.credential import CertlessCredential
    from certless.settings import load_settings, said_elsewhere

    out = report.out
    settings = load_settings(args.settings, args.section)  # a SettingsError is a usage mistake: exit 2
    report.ok("settings", f"client {settings.client_id}, tenant {settings.tenant_id}, {settings.instance}")
    report.info(
        f"cloud {settings.cloud.name}; token-exchange audience {settings.cloud.token_exchange_audience}"
    )
    for d in settings.credentials:
        report.info(f"source {d.label}" + (" [Skip]" if d.skip else ""))
    for note in dotnet_differences(settings):
        report.note(f"differs from Microsoft.Identity.Web: {note}")
        said_elsewhere(note)  # the credential below would log it too

    kind = detect_host()
    shown_vars = (*ENDPOINT_VARS, *AKS_VARS) if kind == "aks" else ENDPOINT_VARS
    endpoints = [f"{name}={os.environ[name]}" for name in shown_vars if os.environ.get(name)]
    report.ok("host", f"{kind}" + (f" ({', '.join(endpoints)})" if endpoints else ""))
    if kind == "imds" and not os.environ.get("AZURE_POD_IDENTITY_AUTHORITY_HOST"):
        report.info(
            "no identity variables: using IMDS at http://169.254.169.254 (Azure VMs and VM scale sets)"
        )

    # Diagnose quickly: a short retry budget for the identity endpoint (the runtime's is ~100 s).
    quick = dataclasses.replace(IDENTITY_POLICY, max_retries=2, total_budget=5.0, timeout=3.0)
    with CertlessCredential(settings, identity_policy=quick) as credential:
        try:
            credential._chain.current()
        except NoCredentialError as exc:
            report.failed = True
            print("[FAIL] no credential source could be loaded:", file=out)
            report.checks.append(
                {
                    "status": "fail",
                    "check": "credential source",
                    "detail": "no credential source could be loaded",
                    "sources": [
                        {
                            "source": f.source,
                            "detail": _failure_detail(f),
                            "fix": getattr(f.error, "fix", None),
                        }
                        for f in exc.failures
                    ],
                    "info": [],
                }
            )
            for failure in exc.failures:
                print(f"       {failure.source}", file=out)
                for line in _failure_detail(failure).splitlines():
                    print(f"         {line}", file=out)
                fix = getattr(failure.error, "fix", None)
                if fix:
                    print(f"    fix: {fix}", file=out)
            return 1
        source = credential.selected_source
        assert source is not None
        report.ok("credential source", source.label)
        claims = source.assertion_claims()
        if isinstance(source, ManagedIdentitySource):
            sa_claims = source.service_account_claims()
            if sa_claims:
                report.ok(
                    "service-account token", f"issuer {sa_claims.get('iss')}, subject {sa_claims.get('sub')}"
                )
                report.info(
                    f"the managed identity needs a FIC: issuer={sa_claims.get('iss')} "
                    f"subject={sa_claims.get('sub')} audience={source.audience}"
                )
        if claims:
            report.ok(
                "assertion",
                f"issuer {claims.get('iss')}, subject {claims.get('sub')}, audience {_audience(claims)}",
            )
            expected_aud = getattr(source, "audience", settings.cloud.token_exchange_audience)
            report.info(
                f"the app registration {settings.client_id} must hold a FIC: issuer={claims.get('iss')} "
                f"subject={claims.get('sub')} audience={expected_aud}"
            )
            if claims.get("aud") == TOKEN_EXCHANGE_APP_ID:
                report.info(
                    f"(tokens name the audience by its app ID {TOKEN_EXCHANGE_APP_ID}; FICs use the URI)"
                )
            exp = claims.get("exp")
            if isinstance(exp, (int, float)):
                report.info(f"assertion expires {_when(exp)}")
        try:
            token = credential.get_token(args.scope)
        except CertlessError as exc:
            report.fail(f"token for {args.scope}", exc)
            return 1
        report.ok(f"token for {args.scope}", f"expires {_when(token.expires_on)}")
        for line in _claims_lines(token.token, indent="       "):
            print(line, file=out)
        try:
            report.checks[-1]["claims"] = _jwt.summary(token.token)
        except _jwt.NotAJwtError:
            report.checks[-1]["claims"] = None
    return 1 if report.failed else 0
