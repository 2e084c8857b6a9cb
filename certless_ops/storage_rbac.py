"""Azure RBAC for Blob Storage, in front of Azurite: the check Azurite does not make.

Azurite (``--oauth basic``) checks a bearer token's issuer, audience and lifetime, then lets it do
anything. Azure Storage also asks RBAC whether the caller (the token's ``oid``) holds a role whose
permissions cover the operation at the resource's scope. This loopback HTTPS proxy makes that check
from the plan's role assignments and forwards allowed requests to Azurite unchanged.

What it models (azure-docs ``role-based-access-control/overview.md``, "How Azure RBAC determines if a
user has access"): the role assignments of the caller's principal; scope inheritance from subscription
to resource group to storage account to container; a role's Actions for container operations and its
DataActions for blob operations, with ``*`` wildcards; a refusal as Storage answers it (403
``AuthorizationPermissionMismatch``, XML body, ``x-ms-error-code``). The token's signature is checked
against the emulator's keys, so a forged ``oid`` gets 401 ``InvalidAuthenticationInfo``.

What it leaves out: custom roles (only the built-in role table), deny assignments, NotActions /
NotDataActions, conditions (ABAC), group membership, management-group scopes, the replication delay of
a new assignment, SAS and shared keys.
"""

from __future__ import annotations

import contextlib
import fnmatch
import http.client
import http.server
import json
import re
import ssl
import threading
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt

from policy.rules import roles as role_table

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ACCESS_GRANT = "certless:access:AccessGrant"
FUNCTION_BINDING = "certless:compute:FunctionAppBinding"
_CONTAINERS = "Microsoft.Storage/storageAccounts/blobServices/containers"
_BLOBS = f"{_CONTAINERS}/blobs"
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"})
MISMATCH_MESSAGE = "This request is not authorized to perform this operation using this permission."


@dataclass(frozen=True)
class Assignment:
    principal_id: str
    role: role_table.BuiltInRole
    scope: str
    name: str = ""


def assignments_from_plan(plan: Mapping[str, Any]) -> list[Assignment]:
    """The plan's role assignments with a built-in role (others are not modelled and grant nothing)."""
    found: list[Assignment] = []
    for res in plan.get("resources") or []:
        if res.get("type") != ROLE_ASSIGNMENT:
            continue
        props = {**(res.get("inputs") or {}), **(res.get("outputs") or {})}
        guid = role_table.definition_guid(str(props.get("roleDefinitionId") or ""))
        role = role_table.BY_GUID.get(guid or "")
        principal, scope = props.get("principalId"), props.get("scope")
        if role is not None and isinstance(principal, str) and isinstance(scope, str):
            found.append(Assignment(principal.lower(), role, scope.rstrip("/"), str(res.get("name", ""))))
    return found


_ACCOUNT_PREFIX = re.compile(
    r"^(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/[^/]+)",
    re.IGNORECASE,
)


def _ancestor_types(by_urn: Mapping[str, Mapping[str, Any]], res: Mapping[str, Any]) -> list[str]:
    """Types of the resource's parents, nearest first (from the plan's ``parent`` links, not URN text)."""
    types: list[str] = []
    parent = by_urn.get(str(res.get("parent")))
    while parent is not None and len(types) < 64:
        types.append(str(parent.get("type")))
        parent = by_urn.get(str(parent.get("parent")))
    return types


def _granted_accounts(plan: Mapping[str, Any], *, host_of: str | None) -> list[str]:
    found: set[str] = set()
    by_urn = {str(r.get("urn")): r for r in plan.get("resources") or []}
    for res in plan.get("resources") or []:
        if res.get("type") != ROLE_ASSIGNMENT:
            continue
        ancestors = _ancestor_types(by_urn, res)
        if not ancestors or ancestors[0] != ACCESS_GRANT:
            continue
        hosts = len(ancestors) > 1 and ancestors[1] == FUNCTION_BINDING
        if hosts != (host_of is not None) or (host_of and not str(res.get("name")).startswith(f"{host_of}-")):
            continue
        scope = str({**(res.get("inputs") or {}), **(res.get("outputs") or {})}.get("scope") or "")
        if (match := _ACCOUNT_PREFIX.match(scope)) is not None:
            found.add(match.group(1))
    return sorted(found)


def granted_storage_account(plan: Mapping[str, Any]) -> str | None:
    """The storage account the plan's workload grants name (the one Azurite stands in for), or None.

    A Function App host's own grants (the AccessGrant under its binding) are not workload grants: see
    ``host_storage_account``."""
    found = _granted_accounts(plan, host_of=None)
    return found[0] if found else None


def host_storage_account(plan: Mapping[str, Any], binding: str) -> str | None:
    """The storage account a Function App binding's host grants name (its ``AzureWebJobsStorage``)."""
    found = _granted_accounts(plan, host_of=binding)
    return found[0] if found else None


@dataclass(frozen=True)
class Operation:
    permission: str
    data: bool
    """True: checked against DataActions (blob data); False: against Actions (containers)."""
    resource_id: str


def operation(method: str, path: str, query: str, account_id: str) -> Operation:
    """The permission a Blob REST call needs and the ARM resource it acts on (a container at most:
    a single blob is not an RBAC scope)."""
    parts = [unquote(p) for p in path.split("/") if p][1:]  # drop the account segment (path-style URL)
    params = parse_qs(query)
    container_id = f"{account_id}/blobServices/default/containers/{parts[0]}" if parts else account_id
    if not parts:  # service level: list containers, properties
        return Operation(f"{_CONTAINERS}/read", False, account_id)
    if len(parts) == 1:
        if params.get("comp") == ["list"]:  # list blobs
            return Operation(f"{_BLOBS}/read", True, container_id)
        verb = {"PUT": "write", "DELETE": "delete"}.get(method, "read")
        return Operation(f"{_CONTAINERS}/{verb}", False, container_id)
    verb = {"PUT": "write", "DELETE": "delete"}.get(method, "read")
    return Operation(f"{_BLOBS}/{verb}", True, container_id)


def _covers(scope: str, resource_id: str) -> bool:
    """A scope covers itself and everything under it, segment-wise; ARM IDs are case-insensitive."""
    scope, resource_id = scope.lower().rstrip("/"), resource_id.lower().rstrip("/")
    return resource_id == scope or resource_id.startswith(scope + "/")


def _permits(patterns: Iterable[str], permission: str) -> bool:
    return any(fnmatch.fnmatchcase(permission.lower(), p.lower()) for p in patterns)


def decide(assignments: Iterable[Assignment], principal_id: str, op: Operation) -> Assignment | None:
    """The assignment that allows ``op`` for the principal, or None (Azure's answer: 403)."""
    for a in assignments:
        if a.principal_id != principal_id.lower() or not _covers(a.scope, op.resource_id):
            continue
        if _permits(a.role.data_actions if op.data else a.role.actions, op.permission):
            return a
    return None


def storage_error(status: int, code: str, message: str) -> tuple[bytes, dict[str, str]]:
    """Storage's error response: an XML body whose message ends with RequestId and Time lines."""
    request_id = str(uuid.uuid4())
    now = formatdate(usegmt=True)
    body = (
        '<?xml version="1.0" encoding="utf-8"?><Error><Code>'
        f"{code}</Code><Message>{message}\nRequestId:{request_id}\nTime:{now}</Message></Error>"
    ).encode()
    headers = {
        "Content-Type": "application/xml",
        "x-ms-error-code": code,
        "x-ms-request-id": request_id,
        "Date": now,
        "Content-Length": str(len(body)),
    }
    return body, headers


def fetch_jwks(url: str, ca_file: str) -> jwt.PyJWKSet:
    context = ssl.create_default_context(cafile=ca_file)
    with urllib.request.urlopen(url, context=context, timeout=10) as resp:  # noqa: S310 (loopback https)
        return jwt.PyJWKSet.from_dict(json.loads(resp.read()))


@dataclass
class Decision:
    """One checked request: who (``oid``), what, where, and the assignment that allowed it (if any)."""

    oid: str
    permission: str
    resource_id: str
    allowed: bool
    role: str | None = None
    scope: str | None = None


@dataclass
class StorageRbac:
    """The proxy: ``account_url`` is what the app uses instead of Azurite's; ``decisions`` its log."""

    assignments: list[Assignment]
    account_id: str
    """ARM ID of the storage account Azurite stands in for (the scope grants name)."""
    upstream_host: str
    upstream_port: int
    upstream_ca: str
    cert_pem: Path
    key_pem: Path
    keys: jwt.PyJWKSet | None = None
    decisions: list[Decision] = field(default_factory=list)
    _server: http.server.ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    def account_url(self, account: str) -> str:
        return f"https://127.0.0.1:{self.port}/{account}"

    def start(self) -> StorageRbac:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: the decisions list is the log

            def _handle(self) -> None:
                proxy._serve(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = _handle

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.cert_pem), str(self.key_pem))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="storage-rbac", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> StorageRbac:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- one request -------------------------------------------------------------------------------
    def _oid(self, header: str) -> str | bool | None:
        """The caller's oid; None without a bearer token (Azurite answers that itself); False if forged."""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            if self.keys is not None:
                kid = jwt.get_unverified_header(token).get("kid")
                key = next((k for k in self.keys.keys if k.key_id == kid), None)
                if key is None:
                    return False
                claims = jwt.decode(
                    token, key.key, algorithms=["RS256"], options={"verify_aud": False, "verify_exp": False}
                )
            else:
                claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return False
        oid = claims.get("oid")
        return oid if isinstance(oid, str) else False

    def _serve(self, h: http.server.BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        parts = urlsplit(h.path)
        oid = self._oid(h.headers.get("Authorization", ""))
        if oid is False:
            self._reply(
                h,
                401,
                *storage_error(
                    401, "InvalidAuthenticationInfo", "Server failed to authenticate the request."
                ),
            )
            return
        if isinstance(oid, str):
            op = operation(h.command, parts.path, parts.query, self.account_id)
            allowed_by = decide(self.assignments, oid, op)
            with self._lock:
                self.decisions.append(
                    Decision(
                        oid,
                        op.permission,
                        op.resource_id,
                        allowed_by is not None,
                        allowed_by.role.name if allowed_by else None,
                        allowed_by.scope if allowed_by else None,
                    )
                )
            if allowed_by is None:
                self._reply(h, 403, *storage_error(403, "AuthorizationPermissionMismatch", MISMATCH_MESSAGE))
                return
        self._forward(h, body)

    def _forward(self, h: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        context = ssl.create_default_context(cafile=self.upstream_ca)
        conn = http.client.HTTPSConnection(
            self.upstream_host, self.upstream_port, context=context, timeout=30
        )
        try:
            headers = {
                k: v for k, v in h.headers.items() if k.lower() not in _HOP_BY_HOP and k.lower() != "host"
            }
            headers["Host"] = f"{self.upstream_host}:{self.upstream_port}"
            conn.request(h.command, h.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = {
                k: v
                for k, v in resp.getheaders()
                if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"
            }
            out["Content-Length"] = str(len(data))
            self._reply(h, resp.status, data, out)
        finally:
            conn.close()

    @staticmethod
    def _reply(
        h: http.server.BaseHTTPRequestHandler, status: int, body: bytes, headers: Mapping[str, str]
    ) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        if h.command != "HEAD":
            with contextlib.suppress(OSError):
                h.wfile.write(body)
