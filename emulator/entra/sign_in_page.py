"""The HTML Entra's authorize endpoint answers with: the sign-in page (test users, no passwords), the
error page shown when the request cannot be sent back to the app, and the form_post auto-submit form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from emulator.records import User

_STYLE = "body{font-family:sans-serif;max-width:32rem;margin:3rem auto}code{background:#eee}"


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def sign_in_page(
    *, action: str, ctx: str, app_name: str, users: Sequence[User], login_hint: str = "", error: str = ""
) -> str:
    listed = (
        "".join(f"<li><code>{escape(u.name)}</code> ({escape(u.upn)})</li>" for u in users)
        or "<li>none: declare <code>users</code> in the records or start with <code>--user NAME</code></li>"
    )
    problem = f'<p role="alert" id="error">{escape(error)}</p>' if error else ""
    return _page(
        "Sign in to your account",
        f"<h1>Sign in</h1><p>to continue to <b>{escape(app_name)}</b></p>{problem}"
        f'<form method="post" action="{escape(action)}">'
        f'<input type="hidden" name="ctx" value="{escape(ctx)}">'
        f'<label>Username <input name="username" value="{escape(login_hint)}" autofocus></label> '
        '<button type="submit">Sign in</button></form>'
        f"<h2>Test users</h2><ul>{listed}</ul>"
        "<p><small>certless emulator: local test users only, no passwords.</small></p>",
    )


def error_page(description: str) -> str:
    """What Entra shows when it must not redirect (unknown app, unregistered redirect URI)."""
    first, _, rest = description.partition("\r\n")
    details = "".join(f"<li>{escape(line)}</li>" for line in rest.split("\r\n") if line)
    return _page(
        "Sign in to your account",
        f'<h1>Sorry, but we\'re having trouble signing you in.</h1><p id="error">{escape(first)}</p>'
        f"<ul>{details}</ul>",
    )


def form_post_page(redirect_uri: str, fields: Mapping[str, str]) -> str:
    """response_mode=form_post: a form that posts the response to the app as soon as it loads."""
    inputs = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Working...</title></head>'
        '<body onload="document.forms[0].submit()">'
        f'<form method="post" action="{escape(redirect_uri)}">{inputs}'
        '<noscript><button type="submit">Continue</button></noscript></form></body></html>'
    )
