"""A Flask web app that signs users in with Microsoft's ``identity`` package and calls the notes API for them.

Its client credential is ``certless.client_credential()``: the app's managed identity token, trusted by the
app registration's federated credential, is the client assertion of each token request (the code
redemption and every refresh). No client secret or certificate exists.

Settings (environment; the Pulumi program sets the AzureAd ones on the compute):

    AzureAd__Instance, AzureAd__TenantId, AzureAd__ClientId, AzureAd__ClientCredentials__0__*  the app
    AzureAd__CallbackPath      the redirect URI's path (default /signin-oidc)
    WEB_APP_BASE_URL           where users reach the app, e.g. http://localhost:5000 (redirect URI's origin)
    DownstreamApi__BaseUrl     the notes API, e.g. http://127.0.0.1:8000
    DownstreamApi__Scopes      its scope, api://<notes API client ID>/access_as_user

Run: ``flask --app web_app run --port 5000`` (Flask finds ``create_app``; README.md).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import requests
from cachelib import FileSystemCache
from flask import Flask, render_template_string, request
from identity.flask import Auth

import certless

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Notes: {{ title }}</title>
<style>body{font-family:sans-serif;max-width:46rem;margin:2rem auto}dt{font-weight:bold}
.error{color:#a00}code{background:#eee;padding:0 .2rem}</style></head>
<body><h1>{{ title }}</h1>
{% if user %}<p id="user">Signed in as <b>{{ user.get("name") }}</b>
 (<span id="upn">{{ user.get("preferred_username") }}</span>,
 object ID <code id="oid">{{ user.get("oid") }}</code>)
 · <a href="{{ url_for('identity.logout') }}">Sign out</a></p>{% endif %}
{{ body|safe }}
</body></html>"""

HOME = """
<form method="post" action="{{ url_for('add_note') }}">
  <label>Note <input name="text" value="Hello from the browser"></label>
  <button type="submit">Save the note</button>
</form>
<p><a href="{{ url_for('list_notes') }}">My notes</a></p>"""

RESULT = """
{% if error %}<div class="error" id="api-error"><p>The notes API answered <b>{{ status }}</b>: {{ error }}</p>
{% if challenge %}<p>WWW-Authenticate: <code>{{ challenge }}</code></p>{% endif %}</div>
{% else %}<dl id="saved"><dt>Saved as</dt><dd><code id="blob">{{ note["blob"] }}</code></dd>
<dt>in container</dt><dd>{{ note["container"] }}</dd>
<dt>written for the user</dt><dd><code id="written-for">{{ note["oid"] }}</code></dd></dl>{% endif %}
<p><a href="{{ url_for('index') }}">Back</a></p>"""

NOTES = """
<ul id="notes">{% for n in notes %}<li><code>{{ n["blob"] }}</code>: {{ n["text"] }}</li>{% endfor %}</ul>
{% if error %}<p class="error" id="api-error">The notes API answered <b>{{ status }}</b>: {{ error }}</p>
{% endif %}
<p><a href="{{ url_for('index') }}">Back</a></p>"""


def _setting(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if not value:
        raise SystemExit(f"web_app: set {name} (see examples/web-app/README.md)")
    return value


def create_app() -> Flask:
    settings = certless.load_settings()  # appsettings.json + AzureAd__*: fails here, in one line, if wrong
    base_url = _setting("WEB_APP_BASE_URL", "http://localhost:5000").rstrip("/")
    callback = _setting("AzureAd__CallbackPath", "/signin-oidc")
    api_url = _setting("DownstreamApi__BaseUrl").rstrip("/")
    api_scopes = _setting("DownstreamApi__Scopes").split()

    app = Flask(__name__)
    # identity keeps the MSAL flow and token cache in the session: server-side (Flask-Session).
    sessions = Path(os.environ.get("WEB_APP_SESSION_DIR") or Path(tempfile.gettempdir(), "web-app-sessions"))
    app.config.update(
        SESSION_TYPE="cachelib",
        SESSION_CACHELIB=FileSystemCache(str(sessions), threshold=500),
        SESSION_PERMANENT=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    auth = Auth(
        app,
        client_id=settings.client_id,
        # identity hands this to msal.ConfidentialClientApplication verbatim (code redemption, refresh).
        client_credential=certless.client_credential(settings),
        authority=settings.authority,
        redirect_uri=f"{base_url}{callback}",
    )

    def page(title: str, template: str, user: dict[str, Any] | None, **values: Any) -> str:
        body = render_template_string(template, **values)
        return render_template_string(PAGE, title=title, user=user, body=body)

    def call_api(method: str, context: dict[str, Any], **kwargs: Any) -> tuple[int, Any, str]:
        response = requests.request(
            method,
            f"{api_url}/notes",
            headers={"Authorization": f"Bearer {context['access_token']}"},
            timeout=60,
            **kwargs,
        )
        try:
            body = response.json()
        except ValueError:
            body = {"detail": response.text[:200]}
        return response.status_code, body, response.headers.get("WWW-Authenticate", "")

    @app.get("/")
    @auth.login_required(scopes=api_scopes)
    def index(*, context: dict[str, Any]) -> str:
        return page("Notes", HOME, context["user"])

    @app.post("/notes")
    @auth.login_required(scopes=api_scopes)
    def add_note(*, context: dict[str, Any]) -> tuple[str, int]:
        status, body, challenge = call_api("POST", context, json={"text": request.form.get("text", "")})
        if status != 201:
            return page(
                "Not saved", RESULT, context["user"], error=_why(body), status=status, challenge=challenge
            ), 502
        return page("Saved", RESULT, context["user"], note=body, error=None), 200

    @app.get("/notes")
    @auth.login_required(scopes=api_scopes)
    def list_notes(*, context: dict[str, Any]) -> tuple[str, int]:
        status, body, _ = call_api("GET", context)
        if status != 200:
            return page("My notes", NOTES, context["user"], notes=[], error=_why(body), status=status), 502
        return page("My notes", NOTES, context["user"], notes=body["notes"], error=None), 200

    return app


def _why(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("error_description") or body)[:300]
    return str(body)[:300]
