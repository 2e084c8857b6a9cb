"""The command line: ``token`` shows what a token says, ``doctor`` explains what is wrong and how to fix it.

Plain text only (no rich dependency in the runtime); the token itself is printed only on request.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import logging
import os
import sys
from collections.abc import Sequence
from typing import TextIO

from certless import _jwt
from certless.errors import CertlessError, NoCredentialError

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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m certless", description="Certificateless Entra tokens from the AzureAd settings."
    )
    parser.add_argument("--settings", metavar="PATH", help="appsettings.json or its folder (default: ./)")
    parser.add_argument("--section", default="AzureAd", help="configuration section (default: AzureAd)")
    parser.add_argument("--version", action="version", version=f"certless {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what certless does (to stderr)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    token = sub.add_parser("token", help="get a token and print its expiry and claims")
    token.add_argument("--scope", required=True, help="e.g. https://storage.azure.com/.default")
    token.add_argument("--tenant", help="request the token from another tenant")
    token.add_argument("--show-token", action="store_true", help="also print the token itself (a secret!)")
    doctor = sub.add_parser("doctor", help="check this host, the identity and the FIC; explain failures")
    doctor.add_argument(
        "--scope", default=DOCTOR_SCOPE, help=f"scope for the final check (default {DOCTOR_SCOPE})"
    )
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    if args.verbose:  # certless' own logger only: libraries below may log request details
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("certless: %(message)s"))
        logger = logging.getLogger("certless")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    if args.command == "token":
        return _token(args, out)
    return _doctor(args, out)


def _token(args: argparse.Namespace, out: TextIO) -> int:
    from certless.credential import credential_from_settings

    try:
        with credential_from_settings(args.settings, args.section) as credential:
            token = credential.get_token(args.scope, tenant_id=args.tenant)
    except CertlessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
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
    if args.show_token:
        print(token.token, file=out)
    return 0


class _Report:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.failed = False

    def ok(self, what: str, detail: str = "") -> None:
        print(f"[ ok ] {what}" + (f": {detail}" if detail else ""), file=self.out)

    def info(self, text: str) -> None:
        print(f"       {text}", file=self.out)

    def note(self, text: str) -> None:
        print(f"[note] {text}", file=self.out)

    def fail(self, what: str, exc: BaseException) -> None:
        self.failed = True
        print(f"[FAIL] {what}", file=self.out)
        message = exc.summary if isinstance(exc, CertlessError) else str(exc)
        for line in str(message).splitlines():
            print(f"       {line}", file=self.out)
        fix = getattr(exc, "fix", None)
        if fix:
            print(f"  fix: {fix}", file=self.out)


def _doctor(args: argparse.Namespace, out: TextIO) -> int:
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

    report = _Report(out)
    try:
        settings = load_settings(args.settings, args.section)
    except CertlessError as exc:
        report.fail("settings", exc)
        return 2
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
            for failure in exc.failures:
                print(f"       {failure.source}", file=out)
                error = failure.error
                message = error.summary if isinstance(error, CertlessError) else failure.reason
                for line in str(message).splitlines():
                    print(f"         {line}", file=out)
                fix = getattr(error, "fix", None)
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
                f"issuer {claims.get('iss')}, subject {claims.get('sub')}, audience {claims.get('aud')}",
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
    return 1 if report.failed else 0
