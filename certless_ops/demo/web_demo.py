"""``demo --web``: the two sample apps of ``examples/`` signing a user in, on this machine.

web stack ─► plan ─► emulator (with a test user) + Azurite behind Azure RBAC ─► notes API + web app ─►
headless Chromium: Entra's sign-in page, the signed-in page, a note saved (web app ─► notes API ─►
on-behalf-of ─► Azurite), the user's notes; a screenshot of each page. ``--live`` leaves it all running
for a person's own browser instead.

What is shown of each step comes from the emulator's request log (grant, client, credential kind, user,
scope) and the page itself: never a token, a code or a cookie.
"""

from __future__ import annotations

import argparse
import signal
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from certless_ops.console import panel, rule
from certless_ops.errors import UserError

USER = "alice"
NOTE_TEXT = "Hello from the certless web demo"
NOTES_CONTAINER = "notes"
TIMEOUT_MS = 30_000
# Flags of the token demo that mean nothing for the web stack's fixed two apps.
_TOKEN_DEMO_ONLY = ("stack", "config_file", "plan", "workload", "keep_running", "json")
# Authorize parameters that tie one sign-in together: their values are named, never shown.
_OPAQUE_PARAMS = frozenset({"state", "nonce", "code_challenge"})


def check_arguments(args: argparse.Namespace) -> None:
    """``--web`` with a token-demo flag, or a web flag without ``--web``: one line, exit 2."""
    if not args.web:
        for flag, value in (("--live", args.live), ("--screenshots", args.screenshots)):
            if value:
                raise UserError(f"{flag}: only with --web (the browser sign-in demo); expected --web {flag}")
        return
    given = [name for name in _TOKEN_DEMO_ONLY if getattr(args, name, None) not in (None, False)]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise UserError(
            f"--web with {flags}: the web demo runs the web stack's two sample apps; "
            "expected --web alone, with --screenshots DIR or with --live"
        )
    if args.live and args.screenshots is not None:
        raise UserError(
            "--live with --screenshots: --live takes no screenshots (your browser does the clicking); "
            "expected one of them"
        )


def screenshots_dir(wanted: Path | None) -> Path:
    """The folder for the screenshots, created if missing and checked writable now (before anything
    starts); by default a new temp folder, which outlives the demo."""
    if wanted is None:
        return Path(tempfile.mkdtemp(prefix="certless-web-demo-"))
    shown = str(wanted)[:80]
    if wanted.exists() and not wanted.is_dir():
        raise UserError(f"--screenshots {shown!r} is a file; expected a folder for the PNG screenshots")
    try:
        wanted.mkdir(parents=True, exist_ok=True)
        # Writing a file is the only real test (permissions, read-only mounts, root's exemptions).
        with tempfile.NamedTemporaryFile(dir=wanted, prefix=".certless-probe-"):
            pass
    except OSError as exc:
        raise UserError(
            f"--screenshots {shown!r} cannot be written ({exc.strerror}); expected a writable folder"
        ) from None
    return wanted


@dataclass
class WebStack:
    plan: dict[str, Any]
    emulator: Any
    azurite: Any
    storage: Any
    apps: Any
    user: Any

    @property
    def tenant_id(self) -> str:
        return str(self.plan["outputs"]["tenantId"])

    def workload_of_client(self, client_id: str) -> str:
        for name, w in self.plan["outputs"]["workloads"].items():
            if str(w.get("appClientId", "")).lower() == client_id.lower():
                return name
        return client_id


def start_stack(session: Any, console: Console) -> WebStack:
    """Plan the web stack, start the emulator with the test user, Azurite behind RBAC and both apps."""
    from certless_ops.azurite import ACCOUNT
    from certless_ops.demo import render, web

    port = web.free_port()
    config = web.web_stack_config(session.workdir / "Pulumi.web.yaml", port)
    with console.status("Writing the offline plan of the web stack (Pulumi mock engine)…"):
        plan_path, plan = session.write_plan("web", config)
    render.plan_table(console, plan)
    with console.status("Starting the identity emulator, Azurite and the two sample apps…"):
        emu = session.start_emulator(plan_path, users=(USER,))
        user = emu.records.user(USER, str(plan["outputs"]["tenantId"]))
        azurite = session.start_azurite()
        storage = session.start_storage_rbac(
            plan,
            emu,
            azurite,
            account_id=web.NOTES_ACCOUNT_ID,
            extra_assignments=web.user_assignments({USER: user.object_id}),
        )
        storage_url = storage.account_url(ACCOUNT)
        apps = session.enter(
            web.sample_apps(
                plan,
                emu,
                storage_url=storage_url,
                storage_ca=azurite.ca_pem,
                web_port=port,
                workdir=session.workdir,
            )
        )
    render.services(
        console,
        [
            (f"web app ({web.WEB_WORKLOAD}: Flask, identity, certless client credential)", apps.web_url),
            (f"notes API ({web.API_WORKLOAD}: FastAPI, certless.web, on-behalf-of)", apps.api_url),
            ("Entra (emulated, HTTPS)", emu.entra_url),
            ("App Service / Container Apps identity endpoint", emu.identity_endpoint),
            ("Azure RBAC check in front of Azurite (the notes account)", storage_url),
            ("temp dir (removed on exit)", str(session.workdir)),
        ],
    )
    return WebStack(plan, emu, azurite, storage, apps, user)


# ---- what each step did, from the emulator's request log -------------------------------------------


_GRANTS = {
    "authorization_code": "redeems {user}'s sign-in code",
    "refresh_token": "refreshes {user}'s token",
    "on_behalf_of": "on-behalf-of: exchanges {user}'s token for one of its own",
}


def _describe(entry: Mapping[str, Any], stack: WebStack) -> tuple[str, str, str] | None:
    """(who, what, result) for one logged request, or None for one not worth a line."""
    endpoint = str(entry.get("endpoint", ""))
    status = str(entry.get("status", ""))
    result = status + (f" AADSTS{entry['error_code']}" if entry.get("error_code") else "")
    if endpoint == "entra-authorize":
        who = "the browser"
        if entry.get("method") == "GET":
            return (
                who,
                f"opens the sign-in page for {stack.workload_of_client(str(entry.get('client_id')))}",
                result,
            )
        signed = f"signs in as {entry['user']}" if entry.get("user") else "posts the sign-in form"
        return who, f"{signed}; Entra sends it back to the app's redirect URI", result
    if endpoint == "entra-token":
        who = stack.workload_of_client(str(entry.get("client_id", "")))
        grant = str(entry.get("grant") or entry.get("grant_type") or "")
        what = _GRANTS.get(grant, grant).format(user=entry.get("user") or "the user")
        credential = entry.get("credential")
        proof = f", proving itself with a {credential} credential" if credential else ""
        return who, f"{what}: scope {entry.get('scope')}{proof}", result
    if endpoint in ("entra-discovery", "entra-keys"):
        return (
            "an app",
            "reads Entra's " + ("OpenID configuration" if endpoint == "entra-discovery" else "signing keys"),
            result,
        )
    if entry.get("host"):
        return (
            str(entry["host"]),
            "gets its managed identity token (the client assertion) from the host",
            result,
        )
    return None


def _calls_table(entries: Sequence[Mapping[str, Any]], stack: WebStack, since: str) -> Table | Text:
    rows = [row for row in (_describe(e, stack) for e in entries) if row is not None]
    if not rows:
        return Text(f"no call to Entra {since}: the apps' token caches answered", style="dim")
    table = Table(
        box=None,
        pad_edge=False,
        title=f"calls to the emulated Entra and identity endpoints {since}",
        title_justify="left",
        title_style="dim",
    )
    for column in ("who", "what", "answer"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _authorize_table(url: str) -> Table:
    """The authorize request the web app sent the browser with (opaque values named, not shown)."""
    parts = urlsplit(url)
    table = Table(box=None, pad_edge=False, show_header=False)
    table.add_column(style="cyan", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("endpoint", f"{parts.scheme}://{parts.netloc}{parts.path}")
    for key, value in parse_qsl(parts.query):
        table.add_row(key, "(set, value not shown)" if key in _OPAQUE_PARAMS else value)
    return table


# ---- the browser run -------------------------------------------------------------------------------


@dataclass
class Outcome:
    user_oid: str
    blob: str  # as the web app's page shows it
    written_for: str  # the object ID the notes API says it wrote for
    screenshots: list[Path]
    stored_oid: str | None  # the blob's metadata, read from Azurite itself
    write_allowed_for: list[str]  # the oids Storage's RBAC check let write a blob

    @property
    def ok(self) -> bool:
        """The note is in Azurite under the signed-in user's object ID, written with the user's token."""
        mine = self.user_oid
        return (
            self.blob.startswith(f"{mine}/")
            and self.written_for == mine
            and self.stored_oid == mine
            and self.write_allowed_for == [mine]
        )


def run_browser(console: Console, stack: WebStack, shots: Path, browser: Any) -> Outcome:
    """Sign the test user in through Entra's page, save a note and list the notes, step by step."""
    from certless_ops.demo import render, web

    emu, apps, user = stack.emulator, stack.apps, stack.user
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    taken: list[Path] = []
    mark = 0  # step 1 also shows what the apps did as they started (the web app's identity token)

    def step(number: int, title: str, body: list[Any], shot: str) -> None:
        nonlocal mark
        path = shots / f"{number:02d}-{shot}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        entries = emu.requests[mark:]
        since = "since the apps started" if mark == 0 else "in this step"
        mark += len(entries)
        parts = [*body, _calls_table(entries, stack, since), Text(f"screenshot: {path}", style="dim")]
        console.print(panel(console, Group(*parts), title=f"{number}. {title}"))

    try:
        page.goto(apps.web_url + "/")
        page.wait_for_url(f"{emu.entra_url}/**")
        step(
            1,
            "The web app sends the browser to Entra's sign-in page",
            [
                Text(f"GET {apps.web_url}/ → the web app has no session: it redirects to Entra"),
                _authorize_table(page.url),
            ],
            "entra-sign-in",
        )

        page.fill("input[name=username]", user.name)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{apps.web_url}/**")
        upn, oid = page.locator("#upn").inner_text(), page.locator("#oid").inner_text()
        step(
            2,
            f"Signed in as {upn}: the web app redeemed the code with its certless client credential",
            [Text(f"the page shows: {upn}, object ID {oid} (the ID token's claims; no token is shown)")],
            "signed-in",
        )

        storage_mark = len(stack.storage.decisions)
        page.fill("input[name=text]", NOTE_TEXT)
        page.get_by_role("button", name="Save the note").click()
        page.locator("#blob, #api-error").first.wait_for()
        saved = page.locator("#blob").count() == 1
        blob = page.locator("#blob").inner_text() if saved else ""
        written_for = page.locator("#written-for").inner_text() if saved else ""
        shown = (
            Text(f"saved as {blob} in container {NOTES_CONTAINER}, written for {written_for}")
            if saved
            else Text(page.locator("#api-error").inner_text().strip(), style="bold red")
        )
        step(
            3,
            "Save a note: web app → notes API (the user's token) → on-behalf-of → Azurite",
            [
                Text(f"POST {apps.web_url}/notes → the web app calls POST {apps.api_url}/notes for the user"),
                shown,
            ],
            "note-saved",
        )
        decisions = stack.storage.decisions[storage_mark:]
        render.rbac(
            console,
            decisions,
            [],
            title="Azure RBAC for each Storage call (the OBO token's oid is the signed-in user)",
            note=(
                f"The plan grants the apps no role on the notes account: {user.name} holds {web.NOTES_ROLE} "
                "there (a role assignment made outside the program), so Storage lets the user's token in."
            ),
        )

        page.goto(apps.web_url + "/notes")
        page.locator("#notes").wait_for()
        listed = page.locator("#notes li").count()
        step(
            4,
            "The user's notes, listed by the notes API as the user",
            [Text(f"GET {apps.web_url}/notes → {listed} note(s) under {written_for or user.object_id}/")],
            "my-notes",
        )
    finally:
        context.close()

    stored = stack.azurite.blobs(NOTES_CONTAINER, stack.tenant_id).get(blob) if blob else None
    writes = [d for d in decisions if d.permission.endswith("/blobs/write") and d.allowed]
    return Outcome(
        user_oid=user.object_id,
        blob=blob,
        written_for=written_for,
        screenshots=taken,
        stored_oid=(stored or {}).get("oid"),
        write_allowed_for=[d.oid for d in writes],
    )


def show_outcome(console: Console, stack: WebStack, outcome: Outcome) -> None:
    user = stack.user
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="cyan", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row(
        "blob", f"{NOTES_CONTAINER}/{outcome.blob}" if outcome.blob else "(none: the note was not saved)"
    )
    table.add_row("metadata oid", str(outcome.stored_oid or "(no such blob in Azurite)"))
    table.add_row("write allowed for", ", ".join(outcome.write_allowed_for) or "nobody")
    table.add_row(f"{user.name}'s object ID", user.object_id)
    verdict = (
        Text(f"✓ written under {user.name}'s identity", style="green")
        if outcome.ok
        else Text(f"✗ not written as {user.name}", style="bold red")
    )
    table.add_row("result", verdict)
    console.print(panel(console, table, title="The note in Azurite, read back directly as its administrator"))


# ---- entry points -----------------------------------------------------------------------------------


def run(args: argparse.Namespace, console: Console) -> int:
    from certless_ops.azurite import locate_azurite
    from certless_ops.demo.browser import BrowserMissing, chromium, spki_pin
    from certless_ops.demo.session import DemoSession
    from emulator.keys import process_tls

    check_arguments(args)
    locate_azurite()  # fail first, in one line, if Node.js or Azurite is missing
    if args.live:
        return _run_live(console)
    given = screenshots_dir(args.screenshots) if args.screenshots is not None else None
    pin = spki_pin(process_tls().server_cert.cert_chain_pems[0].bytes())
    interrupted = False
    status = 1
    shots: Path | None = None
    try:
        # Chromium first: when it is missing, say so before planning and starting anything.
        with chromium(trusted_keys=(pin,)) as browser:
            shots = given or screenshots_dir(None)  # made outside the session's temp dir: it stays
            with DemoSession() as session:
                stack = start_stack(session, console)
                rule(console, f"{USER} signs in to the web app in headless Chromium; screenshots in {shots}")
                outcome = run_browser(console, stack, shots, browser)
                show_outcome(console, stack, outcome)
                status = 0 if outcome.ok else 1
    except BrowserMissing as exc:
        raise UserError(str(exc)) from None
    except KeyboardInterrupt:
        interrupted = True
    if shots is not None:
        console.print(f"Screenshots: {shots}")
    console.print(
        ("Interrupted: " if interrupted else "")
        + "stopped the two apps, the emulator and Azurite and removed the temp dir."
    )
    return 130 if interrupted else status


def _print_live(console: Console, stack: WebStack, pin: str) -> None:
    user, emu = stack.user, stack.emulator
    lines = [
        Text.assemble("Open ", (stack.apps.web_url + "/", "bold"), " in a browser on this machine."),
        Text.assemble(
            "Sign in as ",
            (user.name, "bold"),
            f" ({user.upn}); no password: the emulator's sign-in page lists test users and asks for none.",
        ),
        Text(
            f"Entra (emulated) at {emu.entra_url} has a certificate from a local CA ({emu.ca_bundle_path}): "
            "the browser warns once; accept it, or start Chromium with "
            f"--ignore-certificate-errors-spki-list={pin}"
        ),
    ]
    console.print(panel(console, Group(*lines), title="The web app is live"))


def _run_live(console: Console) -> int:
    from certless_ops.demo.browser import spki_pin
    from certless_ops.demo.session import DemoSession
    from emulator.keys import process_tls

    pin = spki_pin(process_tls().server_cert.cert_chain_pems[0].bytes())
    interrupted = False
    try:
        with DemoSession() as session:
            stack = start_stack(session, console)
            _print_live(console, stack, pin)
            console.print("Press Ctrl-C to stop.")
            while True:
                signal.pause()
    except KeyboardInterrupt:
        interrupted = True
    console.print(
        ("Interrupted: " if interrupted else "")
        + "stopped the two apps, the emulator and Azurite and removed the temp dir."
    )
    return 130 if interrupted else 0
