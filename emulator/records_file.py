"""The records file (`certless.emulator-records/v1`) for use without a plan; format in docs/emulator.md."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from emulator.entra.clouds import PUBLIC, cloud_named
from emulator.errors import RecordsError
from emulator.fields import items, obj, strings, text
from emulator.records import (
    RECORDS_SCHEMA,
    App,
    CertificateCredential,
    Cluster,
    DelegatedGrant,
    FederatedCredential,
    Identity,
    Records,
    User,
    Workload,
)


def _fics(doc: Mapping[str, Any], path: str, default_audience: str) -> list[FederatedCredential]:
    out = []
    for i, raw in enumerate(items(doc, "federatedCredentials", path)):
        p = f"{path}.federatedCredentials[{i}]"
        f = obj(raw, p)
        audiences = strings(f, "audiences", p) or [default_audience]
        out.append(
            FederatedCredential(
                text(f, "name", p), text(f, "issuer", p), text(f, "subject", p), tuple(audiences)
            )
        )
    return out


def records_from_document(doc: Mapping[str, Any]) -> Records:
    if doc.get("schema") != RECORDS_SCHEMA:
        raise RecordsError("records file schema", repr(doc.get("schema")), repr(RECORDS_SCHEMA))
    cloud = cloud_named(text(doc, "cloud", "records", required=False) or PUBLIC.name, "records.cloud")
    apps = []
    for i, raw in enumerate(items(doc, "apps", "records")):
        p = f"apps[{i}]"
        a = obj(raw, p)
        version = a.get("accessTokenVersion", 1)
        if version not in (1, 2):
            raise RecordsError(f"{p}.accessTokenVersion", repr(version), "1 or 2")
        app = App(
            client_id=text(a, "clientId", p),
            tenant_id=text(a, "tenantId", p),
            object_id=text(a, "objectId", p, required=False),
            display_name=text(a, "displayName", p, required=False),
            federated_credentials=_fics(a, p, cloud.token_exchange_audience),
            certificates=[CertificateCredential.from_pem(c) for c in strings(a, "certificates", p)],
            identifier_uris=strings(a, "identifierUris", p),
            access_token_version=version,
            redirect_uris=strings(a, "redirectUris", p),
            api_scopes=strings(obj(a.get("api") or {}, f"{p}.api"), "scopes", f"{p}.api"),
        )
        for secret in strings(a, "clientSecrets", p):
            app.add_secret(secret)
        apps.append(app)
    identities = []
    for i, raw in enumerate(items(doc, "identities", "records")):
        p = f"identities[{i}]"
        d = obj(raw, p)
        system = d.get("systemAssigned", False)
        if not isinstance(system, bool):
            raise RecordsError(f"{p}.systemAssigned", repr(system), "true or false")
        identities.append(
            Identity(
                name=text(d, "name", p),
                client_id=text(d, "clientId", p),
                principal_id=text(d, "principalId", p),
                tenant_id=text(d, "tenantId", p),
                resource_id=text(d, "resourceId", p, required=False),
                system_assigned=system,
                federated_credentials=_fics(d, p, cloud.token_exchange_audience),
            )
        )
    clusters = []
    for i, raw in enumerate(items(doc, "clusters", "records")):
        p = f"clusters[{i}]"
        c = obj(raw, p)
        clusters.append(Cluster(text(c, "name", p), text(c, "issuerUrl", p)))
    workloads = []
    for i, raw in enumerate(items(doc, "workloads", "records")):
        p = f"workloads[{i}]"
        w = obj(raw, p)
        env = obj(w.get("azureAdEnv", {}), f"{p}.azureAdEnv")
        workloads.append(
            Workload(
                name=text(w, "name", p),
                kind=text(w, "kind", p),
                tenant_id=text(w, "tenantId", p),
                app_client_id=text(w, "appClientId", p, required=False),
                identity_client_id=text(w, "identityClientId", p, required=False),
                aks_mode=text(w, "aksMode", p, required=False) or None,
                cluster=text(w, "cluster", p, required=False),
                namespace=text(w, "namespace", p, required=False),
                service_account=text(w, "serviceAccount", p, required=False),
                azure_ad_env={str(k): str(v) for k, v in env.items()},
            )
        )
    records = Records(
        tenants=strings(doc, "tenants", "records"),
        apps=apps,
        identities=identities,
        clusters=clusters,
        workloads=workloads,
        cloud=cloud.name,
    )
    for i, raw in enumerate(items(doc, "apps", "records")):
        _delegated_permissions(obj(raw, f"apps[{i}]"), f"apps[{i}]", apps[i], records)
    for i, raw in enumerate(items(doc, "users", "records")):
        _user(obj(raw, f"users[{i}]"), f"users[{i}]", records)
    return records


def _api_app(records: Records, key: str, path: str) -> App:
    app = records.app(key) or next(
        (a for a in records.apps if key.rstrip("/") in (u.rstrip("/") for u in a.identifier_uris)), None
    )
    if app is None:
        raise RecordsError(path, key, "the client ID or an identifier URI of an app in the records")
    return app


def _delegated_permissions(doc: Mapping[str, Any], path: str, client: App, records: Records) -> None:
    """``delegatedPermissions``: admin-consented delegated grants of this app to APIs of the records."""
    for i, raw in enumerate(items(doc, "delegatedPermissions", path)):
        p = f"{path}.delegatedPermissions[{i}]"
        d = obj(raw, p)
        api = _api_app(records, text(d, "api", p), f"{p}.api")
        scopes = strings(d, "scopes", p)
        if not scopes:
            raise RecordsError(f"{p}.scopes", "[]", "at least one scope name, e.g. access_as_user")
        records.delegated_grants.append(
            DelegatedGrant(client.service_principal_id, api.service_principal_id, tuple(scopes))
        )


def _user(doc: Mapping[str, Any], path: str, records: Records) -> None:
    tenant = text(doc, "tenantId", path, required=False) or (records.tenants[0] if records.tenants else "")
    if not tenant:
        raise RecordsError(f"{path}.tenantId", "None", "a tenant (the records declare none)")
    user = User(
        text(doc, "name", path),
        tenant,
        object_id=text(doc, "objectId", path, required=False),
        display_name=text(doc, "displayName", path, required=False),
        upn=text(doc, "userPrincipalName", path, required=False),
    )
    records.users.append(user)
    for i, raw in enumerate(items(doc, "appRoles", path)):
        p = f"{path}.appRoles[{i}]"
        r = obj(raw, p)
        app = _api_app(records, text(r, "app", p), f"{p}.app")
        value = text(r, "role", p)
        role_id = next((k for k, v in app.app_roles.items() if v == value), "") or str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"{app.client_id}/roles/{value}")
        )
        app.app_roles[role_id] = value
        records.app_role_assignments.append((user.object_id, app.service_principal_id, role_id))
