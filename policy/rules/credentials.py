"""No stored credential on the app registrations this program manages: the whole point is certless."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from ._props import APP, APP_CERTIFICATE, APP_PASSWORD, SP_CERTIFICATE, SP_PASSWORD, UNKNOWN, plain

NO_PASSWORDS = "certless-no-client-secrets"
NO_CERTIFICATES = "certless-no-client-certificates"


def _no_passwords(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in (APP_PASSWORD, SP_PASSWORD):
        kind = "an application" if args.resource_type == APP_PASSWORD else "a service principal"
        report(
            f"'{args.name}' creates a client secret (password) on {kind}; the app must authenticate "
            "with its federated identity credential instead. Remove this resource.",
            None,
        )
    elif args.resource_type == APP:
        password = plain(args.props).get("password")
        if password is not None and password is not UNKNOWN:
            report(
                f"application '{args.name}' declares an inline 'password' block (a client secret); remove "
                "it and rely on the federated identity credential.",
                None,
            )


def _no_certificates(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type in (APP_CERTIFICATE, SP_CERTIFICATE):
        kind = "an application" if args.resource_type == APP_CERTIFICATE else "a service principal"
        report(
            f"'{args.name}' adds a certificate credential to {kind}; certificates are only tolerated "
            "while migrating (advisory in dev): move the app to its federated identity credential.",
            None,
        )


POLICIES: list[Policy] = [
    ResourceValidationPolicy(
        name=NO_PASSWORDS,
        description=(
            "No client secret on any app registration or service principal managed here "
            "(ApplicationPassword, ServicePrincipalPassword, inline Application.password)."
        ),
        validate=_no_passwords,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name=NO_CERTIFICATES,
        description=(
            "No certificate credential on any app registration or service principal managed here "
            "(ApplicationCertificate, ServicePrincipalCertificate). Mandatory; the dev stack's pack "
            "config lowers it to advisory for the migration path."
        ),
        validate=_no_certificates,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
