"""Reads a Function App's host storage connection the way the Functions host does, then uses it.

Run as its own process with the Function App's environment. The ``AzureWebJobsStorage`` connection is
identity-based: ``__blobServiceUri`` (or ``__accountName``), ``__credential=managedidentity`` and
``__clientId``; there is no connection string to fall back on. The host takes the identity's token
from the managed-identity endpoint with azure-identity's ``ManagedIdentityCredential`` and writes its
lease blobs under ``azure-webjobs-hosts``; this probe does the same and prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import uuid

from azure.identity import ManagedIdentityCredential
from azure.storage.blob import BlobServiceClient

CONNECTION = "AzureWebJobsStorage"


def _setting(name: str) -> str | None:
    # The host reads both the "__" (Linux env var) and ":" (configuration) forms of a nested key.
    return os.environ.get(f"{CONNECTION}__{name}") or os.environ.get(f"{CONNECTION}:{name}")


def main() -> int:
    if os.environ.get(CONNECTION):
        print(json.dumps({"error": f"{CONNECTION} holds a connection string"}))
        return 1
    blob_uri = _setting("blobServiceUri")
    account = _setting("accountName")
    if blob_uri is None and account is not None:
        blob_uri = f"https://{account}.blob.core.windows.net"
    if blob_uri is None:
        print(json.dumps({"error": "no blobServiceUri or accountName"}))
        return 1
    if (_setting("credential") or "").lower() != "managedidentity":
        print(json.dumps({"error": "credential is not managedidentity"}))
        return 1
    # Azurite stands in for the account: same connection settings, the test's loopback address.
    blob_uri = os.environ.get("CERTLESS_PROBE_BLOB_URI_OVERRIDE", blob_uri)
    credential = ManagedIdentityCredential(client_id=_setting("clientId"))
    client = BlobServiceClient(
        blob_uri, credential=credential, connection_verify=os.environ["CERTLESS_PROBE_CA"], retry_total=0
    )
    container = client.get_container_client("azure-webjobs-hosts")
    if not container.exists():
        container.create_container()
    name = f"locks/{uuid.uuid4().hex}/host"
    container.upload_blob(name, b"lease")
    read = container.download_blob(name).readall()
    print(json.dumps({"blob": name, "read_back": read.decode()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
