"""What the emulator serves: tenants, apps and their FICs, managed identities, AKS clusters, workloads.

Records come from an offline plan (``certless.plan/v1``), from a small records JSON file (format in
docs/emulator.md) or are built in code. Client secrets are kept only as SHA-256 digests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.entra.clouds import PUBLIC_TOKEN_EXCHANGE_APP_ID, cloud_named
from emulator.errors import RecordsError

PLAN_SCHEMA = "certless.plan/v1"
RECORDS_SCHEMA = "certless.emulator-records/v1"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
# The "AAD Token Exchange Endpoint" application; Entra puts its app ID in `aud` of tokens for the
# token-exchange audience and treats the URI and the GUID as one audience when matching FICs.
TOKEN_EXCHANGE_APP_ID = PUBLIC_TOKEN_EXCHANGE_APP_ID
_SP_NAMESPACE = uuid.UUID("6f1c2b52-54b8-4c33-9a37-1a1f4c2d0e11")
_USERS = uuid.UUID("6c0d4a1e-2b7f-4a53-9d8e-5f1a2b3c4d5e")
USER_DOMAIN = "contoso.example"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class FederatedCredential:
    """One FIC: Entra compares issuer, subject and the single audience exactly and case-sensitively."""

    name: str
    issuer: str
    subject: str
    audiences: tuple[str, ...] = (TOKEN_EXCHANGE_AUDIENCE,)


@dataclass(frozen=True)
class CertificateCredential:
    """An app's certificate credential: its public key and the thumbprints Entra looks it up by."""

    public_key: rsa.RSAPublicKey
    x5t: str  # base64url SHA-1 of the DER certificate
    x5t_s256: str  # base64url SHA-256 of the DER certificate

    @classmethod
    def from_pem(cls, pem: str | bytes) -> CertificateCredential:
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        try:
            cert = x509.load_pem_x509_certificate(data)
        except ValueError as exc:
            raise RecordsError("certificate", "<PEM>", "a PEM-encoded X.509 certificate") from exc
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise RecordsError("certificate", type(key).__name__, "an RSA certificate")
        der = cert.public_bytes(serialization.Encoding.DER)
        return cls(key, _b64url(hashlib.sha1(der).digest()), _b64url(hashlib.sha256(der).digest()))  # noqa: S324


@dataclass
class App:
    """An app registration together with its service principal."""

    client_id: str
    tenant_id: str
    object_id: str = ""
    display_name: str = ""
    service_principal_id: str = ""
    federated_credentials: list[FederatedCredential] = field(default_factory=list)
    certificates: list[CertificateCredential] = field(default_factory=list, repr=False)
    identifier_uris: list[str] = field(default_factory=list)
    # Entra issues v1 tokens for a resource app unless its manifest asks for v2.
    access_token_version: int = 1
    app_roles: dict[str, str] = field(default_factory=dict)
    """App roles this app exposes as an API: role ID -> value (the ``roles`` claim)."""
    secret_digests: list[bytes] = field(default_factory=list, repr=False)
    redirect_uris: list[str] = field(default_factory=list)
    """The web platform's redirect URIs: where the sign-in page may send a code (exact match)."""
    api_scopes: list[str] = field(default_factory=list)
    """Delegated permissions this app exposes as an API (``api.oauth2PermissionScopes`` values). Empty
    means the records do not say, and any scope name is taken as exposed (consent still decides)."""

    def __post_init__(self) -> None:
        if not self.object_id:
            self.object_id = str(uuid.uuid5(_SP_NAMESPACE, "app:" + self.client_id))
        if not self.service_principal_id:
            self.service_principal_id = str(uuid.uuid5(_SP_NAMESPACE, "sp:" + self.client_id))

    def add_secret(self, secret: str) -> None:
        self.secret_digests.append(hashlib.sha256(secret.encode("utf-8")).digest())

    def secret_matches(self, secret: str) -> bool:
        digest = hashlib.sha256(secret.encode("utf-8")).digest()
        return any(hmac.compare_digest(digest, known) for known in self.secret_digests)


@dataclass
class Identity:
    """A managed identity. System-assigned ones belong to one host and are never FIC targets."""

    name: str
    client_id: str
    principal_id: str
    tenant_id: str
    resource_id: str = ""
    system_assigned: bool = False
    federated_credentials: list[FederatedCredential] = field(default_factory=list)


@dataclass(frozen=True)
class User:
    """A test user who can sign in on the emulated sign-in page (and whom user tokens stand for)."""

    name: str
    tenant_id: str
    object_id: str = ""
    display_name: str = ""
    upn: str = ""

    def __post_init__(self) -> None:
        # Derived IDs are stable per (tenant, name), so tokens minted by helpers name the same user.
        if not self.object_id:
            object.__setattr__(self, "object_id", str(uuid.uuid5(_USERS, f"{self.tenant_id}/{self.name}")))
        if not self.upn:
            object.__setattr__(self, "upn", f"{self.name}@{USER_DOMAIN}")
        if not self.display_name:
            object.__setattr__(self, "display_name", self.name)

    def pairwise_sub(self, client_id: str) -> str:
        """Entra's ``sub``: a pairwise identifier per (user, application)."""
        return str(uuid.uuid5(_USERS, f"{self.object_id}/{client_id.lower()}"))


@dataclass(frozen=True)
class DelegatedGrant:
    """A consented delegated permission grant (Graph's oAuth2PermissionGrant): the client's service
    principal may call the resource's service principal for these scopes, on behalf of one user or,
    with ``user_object_id`` empty, of every user (admin consent)."""

    client_sp_id: str
    resource_sp_id: str
    scopes: tuple[str, ...]
    user_object_id: str = ""


@dataclass(frozen=True)
class Cluster:
    name: str
    issuer_url: str  # exactly as AKS reports it, trailing slash included


@dataclass
class Workload:
    """A workload from the plan's `outputs.workloads`: which identity its host carries and its settings."""

    name: str
    kind: str
    tenant_id: str
    app_client_id: str = ""
    identity_client_id: str = ""
    aks_mode: str | None = None
    cluster: str = ""
    namespace: str = ""
    service_account: str = ""
    azure_ad_env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExternalApi:
    """An API that is not an app of the plan (Microsoft Graph, another tenant's app by appId) whose app
    roles the plan assigns: its service principal and the roles the plan's grants name."""

    app_id: str
    service_principal_id: str
    app_roles: dict[str, str] = field(default_factory=dict)
    """Role ID -> value (the ``roles`` claim)."""


@dataclass
class Records:
    tenants: list[str] = field(default_factory=list)
    apps: list[App] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    cloud: str = "AzurePublic"
    """The Azure cloud whose Entra is emulated (issuers, token-exchange audience, first-party resources)."""
    app_role_assignments: list[tuple[str, str, str]] = field(default_factory=list)
    """(principal object ID, resource service principal object ID, app role ID), as in the plan."""
    external_apis: list[ExternalApi] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    """Test users the sign-in page lists; declared in a records file or added with ``--user``."""
    delegated_grants: list[DelegatedGrant] = field(default_factory=list)

    def __post_init__(self) -> None:
        cloud_named(self.cloud)  # an unknown cloud is refused now, not at the first token request
        for tid in [a.tenant_id for a in self.apps] + [i.tenant_id for i in self.identities]:
            if tid and tid not in self.tenants:
                self.tenants.append(tid)
        for w in self.workloads:
            if w.tenant_id and w.tenant_id not in self.tenants:
                self.tenants.append(w.tenant_id)

    # ---- lookups -------------------------------------------------------------------------------

    def roles_for(self, principal_id: str, resource_app_id: str) -> list[str]:
        """The ``roles`` claim Entra puts in a token for ``principal_id`` to call the resource app: the
        values of the app roles assigned to that principal on the resource's service principal."""
        resource: App | ExternalApi | None = self.app(resource_app_id) or next(
            (a for a in self.external_apis if a.app_id.lower() == resource_app_id.lower()), None
        )
        if resource is None:
            return []
        wanted = principal_id.lower()
        return sorted(
            resource.app_roles[role_id]
            for principal, sp, role_id in self.app_role_assignments
            if principal.lower() == wanted
            and sp.lower() == resource.service_principal_id.lower()
            and role_id in resource.app_roles
        )

    def consented_scopes(self, client: App, resource_sp_id: str, user_object_id: str) -> set[str]:
        """The delegated scopes consented for ``client`` to call the resource service principal on
        behalf of the user: admin-consented grants (every user) plus the user's own."""
        out: set[str] = set()
        for grant in self.delegated_grants:
            if grant.client_sp_id.lower() != client.service_principal_id.lower():
                continue
            if grant.resource_sp_id.lower() != resource_sp_id.lower():
                continue
            if grant.user_object_id and grant.user_object_id.lower() != user_object_id.lower():
                continue
            out.update(grant.scopes)
        return out

    def user(self, name: str, tenant_id: str) -> User | None:
        """A declared test user by name or UPN (case-insensitive, as Entra matches sign-in names)."""
        wanted = name.strip().lower()
        return next(
            (u for u in self.users if u.tenant_id == tenant_id and wanted in (u.name.lower(), u.upn.lower())),
            None,
        )

    def add_user(self, name: str, tenant_id: str = "") -> User:
        tenant = tenant_id or (self.tenants[0] if self.tenants else "")
        if not tenant:
            raise RecordsError("user", name, "records with a tenant to add the user to")
        if not name or any(c.isspace() for c in name) or len(name) > 64:
            raise RecordsError("user", repr(name)[:80], "a user name without spaces, up to 64 characters")
        existing = self.user(name, tenant)
        if existing is not None:
            return existing
        user = User(name, tenant)
        self.users.append(user)
        return user

    def app(self, client_id: str) -> App | None:
        # Entra parses client IDs as GUIDs: letter case does not matter (unlike FIC subjects).
        wanted = client_id.lower()
        return next((a for a in self.apps if a.client_id.lower() == wanted), None)

    def identity(self, key: str) -> Identity | None:
        """By client ID, principal ID, resource ID (case-insensitive, as ARM IDs are) or name."""
        for ident in self.identities:
            if key in (ident.client_id, ident.principal_id, ident.name):
                return ident
            if ident.resource_id and key.lower() == ident.resource_id.lower():
                return ident
        return None

    def cluster(self, name: str) -> Cluster | None:
        return next((c for c in self.clusters if c.name == name), None)

    def cluster_by_issuer(self, issuer: str) -> Cluster | None:
        return next((c for c in self.clusters if c.issuer_url == issuer), None)

    def workload(self, name: str) -> Workload:
        for w in self.workloads:
            if w.name == name:
                return w
        known = ", ".join(sorted(w.name for w in self.workloads)) or "none"
        raise RecordsError("workload", name, f"one of the plan's workloads ({known})")

    # ---- loaders -------------------------------------------------------------------------------

    @classmethod
    def from_plan(cls, plan: str | Path | Mapping[str, Any]) -> Records:
        from emulator.plan_loader import records_from_plan

        doc = _load_json(plan, "plan") if not isinstance(plan, Mapping) else plan
        return records_from_plan(doc)

    @classmethod
    def from_file(cls, path: str | Path | Mapping[str, Any]) -> Records:
        from emulator.records_file import records_from_document

        doc = _load_json(path, "records file") if not isinstance(path, Mapping) else path
        return records_from_document(doc)


def _load_json(path: str | Path, what: str) -> Mapping[str, Any]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RecordsError(what, str(p), f"a readable JSON file ({exc.strerror})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordsError(what, str(p), f"valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(doc, dict):
        raise RecordsError(what, str(p), "a JSON object at the top level")
    return doc


def as_str_list(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and all(isinstance(v, str) for v in value):
        return list(value)
    raise RecordsError(what, repr(value), "a list of strings")
