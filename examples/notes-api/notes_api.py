"""A FastAPI web API that keeps each signed-in user's notes in Blob Storage, written as that user.

``certless.web.fastapi.require_scope`` validates the caller's access token (signature, issuer, audience,
lifetime, the ``access_as_user`` scope) before a view runs; a refused token gets 401/403 with the RFC 6750
``WWW-Authenticate`` header and never an echo of the token. The view then trades the caller's token for a
Storage token (on-behalf-of, ``certless.OnBehalfOfCredential``): Storage sees the user's ``oid``, so the
user's own role assignment decides, not the API's. The API proves who it is with its managed identity
(the app registration's federated credential); no secret exists.

Settings (environment):

    AzureAd__Instance, AzureAd__TenantId, AzureAd__ClientId, AzureAd__ClientCredentials__0__*  the API
    AzureAd__Scopes            the scope callers need (default access_as_user; the program sets it)
    Notes__AccountUrl          the blob endpoint, e.g. https://<account>.blob.core.windows.net
    Notes__Container           default notes
    Notes__StorageCaBundle     optional: a CA file for a local storage endpoint (Azurite)

Run: ``uvicorn notes_api:app --port 8000`` (README.md).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from typing import Annotated, Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobServiceClient, ContainerClient, ContentSettings
from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field

from certless import CertlessError, OnBehalfOfCredential
from certless.web import Caller
from certless.web.fastapi import require_scope


def _setting(name: str, default: str = "") -> str:
    return os.environ.get(name) or default  # .NET's names (AzureAd__Scopes), as the program sets them


SCOPES = _setting("AzureAd__Scopes", "access_as_user").split()
ACCOUNT_URL = _setting("Notes__AccountUrl")
CONTAINER = _setting("Notes__Container", "notes")
STORAGE_CA: str | bool = _setting("Notes__StorageCaBundle") or True
if not ACCOUNT_URL:
    raise SystemExit("notes_api: set Notes__AccountUrl (see examples/notes-api/README.md)")

app = FastAPI(title="Notes API")
CallerDep = Annotated[Caller, Depends(require_scope(*SCOPES))]


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


def _container(caller: Caller) -> ContainerClient:
    # One credential per request: the source chain, MSAL app and OBO token cache are shared by the process.
    blobs = BlobServiceClient(
        ACCOUNT_URL, credential=OnBehalfOfCredential(caller.token), connection_verify=STORAGE_CA
    )
    return blobs.get_container_client(CONTAINER)


def _refused(exc: Exception) -> HTTPException:
    """Entra's or Storage's refusal as the API's answer: what went wrong, never a token."""
    if isinstance(exc, CertlessError):
        return HTTPException(502, detail=f"on-behalf-of failed: {str(exc).splitlines()[0][:300]}")
    if isinstance(exc, HttpResponseError):
        code = getattr(exc, "error_code", None) or exc.reason or "error"  # set by azure-storage
        status = 403 if exc.status_code == 403 else 502
        return HTTPException(status, detail=f"Storage answered {exc.status_code} {code} for this user")
    raise exc


@app.post("/notes", status_code=201)
def add_note(note: NoteIn, caller: CallerDep) -> dict[str, Any]:
    # The user's notes live under their object ID; the metadata names them too.
    name = f"{caller.object_id}/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:8]}.txt"
    metadata = {"oid": caller.object_id, "tid": caller.tenant_id}
    try:
        with _container(caller) as container:
            with contextlib.suppress(ResourceExistsError):  # the first note of the account creates it
                container.create_container()
            container.upload_blob(
                name,
                note.text.encode(),
                metadata=metadata,
                content_settings=ContentSettings(content_type="text/plain; charset=utf-8"),
            )
    except (CertlessError, HttpResponseError) as exc:
        raise _refused(exc) from None
    return {"container": CONTAINER, "blob": name, "oid": caller.object_id}


@app.get("/notes")
def list_notes(caller: CallerDep) -> dict[str, Any]:
    notes: list[dict[str, str]] = []
    try:
        with _container(caller) as container:
            for item in container.list_blobs(name_starts_with=f"{caller.object_id}/"):
                text = container.download_blob(item.name).readall().decode("utf-8", "replace")
                notes.append({"blob": item.name, "text": text})
                if len(notes) >= 50:
                    break
    except ResourceNotFoundError:
        pass  # no note yet: the container does not exist
    except (CertlessError, HttpResponseError) as exc:
        raise _refused(exc) from None
    return {"notes": notes}
