"""The app: what a workload does on its compute, run as its own process by the demo and the e2e tests.

It reads nothing but its environment, exactly as on Azure: the AzureAd settings (from the plan's
``azureAdEnv``, or an ``appsettings.json`` in its working directory), the host's identity environment
(from the emulator) and where its storage is. It hands certless's credential to the real
``BlobServiceClient``, creates a container, uploads a blob, reads it back and prints one JSON line.
On failure it prints the error message (certless's messages never contain a token) and exits 1.

Environment, besides the AzureAd and host variables:
  CERTLESS_APP_ACCOUNT_URL  the blob endpoint, e.g. https://127.0.0.1:PORT/devstoreaccount1
  CERTLESS_APP_STORAGE_CA   the CA file that signs the storage endpoint's certificate
  CERTLESS_APP_NAME         a label used in the container name and the blob's content

``--trace FILE`` (the demo) records each HTTP hop certless makes through its transport seam and writes
them to FILE as JSON: tokens are replaced by their claims, the identity header by "<set>".
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Response fields that carry a token: never recorded, only their claims.
_TOKEN_FIELDS = ("access_token", "id_token", "refresh_token")


def _container_name(label: str) -> str:
    # Container names: 3-63 chars of lowercase letters, digits and single hyphens.
    slug = re.sub(r"-+", "-", re.sub(r"[^a-z0-9]", "-", label.lower())).strip("-")[:40] or "app"
    return f"{slug}-{uuid.uuid4().hex[:12]}"


def _claims(token: str) -> dict[str, Any]:
    import jwt

    try:
        decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {"error": "not a JWT"}
    return decoded


class RecordingTransport:
    """certless's transport seam, wrapped: the request and response of every hop, minus secrets."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self.hops: list[dict[str, Any]] = []

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | str | None,
        headers: Mapping[str, str],
        timeout: float,
        verify: str | bool,
    ) -> Any:
        response = self._inner.request(
            method, url, params=params, data=data, headers=headers, timeout=timeout, verify=verify
        )
        parts = urlsplit(url)
        hop: dict[str, Any] = {
            "method": method,
            "url": f"{parts.scheme}://{parts.netloc}{parts.path}",
            "query": {**dict(parse_qsl(parts.query)), **dict(params or {})},
            # Which secret-bearing headers were sent, never their values.
            "headers": sorted(h for h in headers if h.lower() in ("x-identity-header", "metadata", "secret")),
            "status": response.status_code,
        }
        form = dict(parse_qsl(data)) if isinstance(data, str) else dict(data or {})
        if "client_assertion" in form:
            hop["assertion_claims"] = _claims(form["client_assertion"])
            form["client_assertion"] = "<the assertion above: a JWT, not shown>"
        for secret in ("client_secret",):
            if secret in form:
                form[secret] = "<set>"
        hop["form"] = form
        try:
            body = json.loads(response.text) if response.text else None
        except ValueError:
            body = None
        if isinstance(body, dict):
            for field in _TOKEN_FIELDS:
                if isinstance(body.get(field), str) and body[field]:
                    hop[f"{field}_claims"] = _claims(body[field])
                    body[field] = "<a JWT, not shown>"
            hop["response"] = body
        with self._lock:
            self.hops.append(hop)
        return response

    def close(self) -> None:
        self._inner.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--trace", metavar="FILE", help="write the HTTP hops certless made, without tokens")
    args = parser.parse_args(argv)

    from azure.storage.blob import BlobServiceClient

    import certless

    label = os.environ.get("CERTLESS_APP_NAME", "app")
    recorder: RecordingTransport | None = None
    outcome: dict[str, Any] = {}
    try:
        if args.trace:
            # certless's transport seam (the `transport=` argument), wrapped around its default transport.
            from certless._http import RequestsTransport

            recorder = RecordingTransport(RequestsTransport(trust_env=False))
            credential = certless.credential_from_settings(transport=recorder)
        else:
            credential = certless.credential_from_settings()
        client = BlobServiceClient(
            account_url=os.environ["CERTLESS_APP_ACCOUNT_URL"],
            credential=credential,
            connection_verify=os.environ["CERTLESS_APP_STORAGE_CA"],
            retry_total=0,
        )
        container = client.create_container(_container_name(label))
        payload = f"hello from {label}, no certificate involved".encode()
        container.upload_blob("hello.txt", payload)
        read_back = bytes(container.download_blob("hello.txt").readall())
        outcome = {
            "container": container.container_name,
            "blob": "hello.txt",
            "uploaded": len(payload),
            "read_back": read_back.decode(),
            "matches": read_back == payload,
        }
    except Exception as exc:  # the app's one line of diagnosis; the exit status says it failed
        outcome = {"error": f"{type(exc).__name__}: {exc}"}
        print(outcome["error"], file=sys.stderr)
    finally:
        if args.trace and recorder is not None:
            with open(args.trace, "w", encoding="utf-8") as fh:
                json.dump({"hops": recorder.hops, "blob": outcome}, fh, indent=2)
    if "error" in outcome:
        return 1
    print(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main())
