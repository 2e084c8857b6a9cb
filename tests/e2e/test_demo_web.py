"""`./dev demo --web` (`python -m certless_ops demo --web`) as a user runs it: the browser sign-in of the two
sample apps in headless Chromium, with a PNG screenshot of each page and the note checked in Azurite; `--live`
for a person's own browser until Ctrl-C; and each mistake in one line, exit 2, before anything starts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from certless_ops.__main__ import main as cli_main

from .conftest import require_azurite
from .support import JWT
from .test_demo import DemoRun

pytestmark = pytest.mark.e2e

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STEPS = [
    "1. The web app sends the browser to Entra's sign-in page",
    "2. Signed in as alice@contoso.example",
    "redeems alice's sign-in code",
    "3. Save a note: web app → notes API",
    "on-behalf-of: exchanges alice's token",
    "Azure RBAC for each Storage call (the OBO token's oid is the signed-in user)",
    "4. The user's notes",
    "The note in Azurite",
    "✓ written under alice's identity",
    "stopped the two apps, the emulator and Azurite and removed the temp dir.",
]
# What would give a session away if printed: a JWT, an authorization code or a cookie value.
SECRET_LIKE = re.compile(r"code=[\w.-]{8,}|session=[\w.-]{8,}|Set-Cookie", re.IGNORECASE)


def _demo_run(e2e_workdir: Path) -> DemoRun:
    require_azurite()
    marker = f"CERTLESS_TEST_DEMO={uuid.uuid4().hex}"
    tmpdir = e2e_workdir / f"web-demo-tmp-{uuid.uuid4().hex[:8]}"
    tmpdir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AzureAd__", "AZURE_", "IDENTITY_"))}
    key, value = marker.split("=", 1)
    env.update({key: value, "TMPDIR": str(tmpdir), "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"})
    cwd = e2e_workdir / f"web-demo-cwd-{uuid.uuid4().hex[:8]}"
    cwd.mkdir()
    return DemoRun(marker, tmpdir, env, cwd)


@pytest.fixture
def run_env(e2e_workdir: Path) -> DemoRun:
    return _demo_run(e2e_workdir)


@dataclass
class LiveRun:
    run: DemoRun
    proc: subprocess.Popen[str]
    seen: list[str]
    ready: threading.Event
    reader: threading.Thread


@pytest.fixture(scope="module")
def live(e2e_workdir: Path) -> Iterator[LiveRun]:
    """``demo --web --live`` in the background from the first test on: it plans and starts while the
    screenshot run does, which keeps this file near 40 s."""
    run = _demo_run(e2e_workdir)
    proc = subprocess.Popen(
        _demo("--web", "--live"),
        cwd=run.cwd,
        env=run.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    seen: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if "Press Ctrl-C to stop." in line:
                ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        yield LiveRun(run, proc, seen, ready, reader)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _demo(*args: str) -> list[str]:
    return [sys.executable, "-m", "certless_ops", "demo", *args]


def _run(
    run: DemoRun, *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _demo(*args),
        cwd=run.cwd,
        env=env or run.env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_web_demo_signs_alice_in_with_a_screenshot_of_each_page(run_env: DemoRun, live: LiveRun) -> None:
    shots = run_env.tmpdir.parent / f"shots-{uuid.uuid4().hex[:8]}"
    proc = _run(run_env, "--web", "--screenshots", str(shots))
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr + out
    positions = [out.find(step) for step in STEPS]
    assert -1 not in positions, [s for s, p in zip(STEPS, positions, strict=True) if p == -1]
    assert positions == sorted(positions)
    # The web app proves itself with its managed identity (a federated credential), also for the OBO.
    assert out.count("proving itself with a federated credential") == 2
    assert "(set, value not shown)" in out  # state, nonce and the PKCE challenge are named only
    assert not JWT.search(out + proc.stderr), "a token was printed"
    assert not SECRET_LIKE.search(out + proc.stderr), "a code or cookie was printed"

    pngs = sorted(shots.iterdir())
    assert [p.name for p in pngs] == [
        "01-entra-sign-in.png",
        "02-signed-in.png",
        "03-note-saved.png",
        "04-my-notes.png",
    ]
    for png in pngs:
        data = png.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 2000, png.name
        assert str(png) in out  # each step names its screenshot
    # The blob as Azurite holds it: under alice's object ID, in its metadata too, and only her write allowed.
    blob_row = next(line for line in out.splitlines() if "notes/" in line and "blob" in line)
    oid = re.search(r"notes/([0-9a-f-]{36})/", blob_row)
    assert oid, blob_row
    assert re.search(rf"metadata oid\s+{oid[1]}", out) and re.search(rf"write allowed for\s+{oid[1]}", out)
    assert f"alice's object ID  {oid[1]}" in out
    assert run_env.leftovers() == ([], [])  # nothing running, the temp dir empty; the screenshots stay
    assert list(run_env.cwd.iterdir()) == []


def test_live_serves_the_web_app_until_ctrl_c(live: LiveRun) -> None:
    proc, seen = live.proc, live.seen
    try:
        assert live.ready.wait(timeout=150), "".join(seen)
        printed = "".join(seen)
        url = re.search(r"Open (http://localhost:\d+/) in a browser", printed)
        assert url, printed
        assert "Sign in as alice (alice@contoso.example); no password" in printed
        # The web app answers a visitor by sending them to Entra's sign-in page.
        home = requests.get(url[1], timeout=30)
        assert home.status_code == 200 and "/oauth2/v2.0/authorize" in home.text
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    live.reader.join(timeout=10)
    output = "".join(seen)
    assert "Interrupted: stopped the two apps, the emulator and Azurite and removed the temp dir." in output
    assert "Traceback" not in output and not JWT.search(output)
    assert live.run.leftovers() == ([], [])


def _bad_cases(tmp: Path) -> list[tuple[list[str], str]]:
    tmp.mkdir()
    a_file = tmp / "a-file.png"
    a_file.write_bytes(b"")
    return [
        (
            ["--web", "--screenshots", str(a_file)],
            f"--screenshots {str(a_file)[:80]!r} is a file; expected a folder",
        ),
        (
            ["--web", "--screenshots", str(a_file / "shots")],
            f"--screenshots {str(a_file / 'shots')[:80]!r} cannot be written (Not a directory)",
        ),
        (
            ["--web", "--stack", "prod"],
            "--web with --stack: the web demo runs the web stack's two sample apps",
        ),
        (["--web", "--keep-running", "--workload", "x"], "--web with --workload, --keep-running:"),
        (["--live"], "--live: only with --web"),
        (["--web", "--live", "--screenshots", str(tmp)], "--live with --screenshots: --live takes no"),
    ]


def test_bad_input_is_one_line_and_exit_2_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    for args, expected in _bad_cases(tmp_path / "bad"):
        assert cli_main(["demo", *args]) == 2, args
        out, err = capsys.readouterr()
        assert err.count("\n") == 1 and err.startswith(f"error: {expected}"), (args, err)
        assert out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]  # no temp folder made, nothing started


def test_read_only_screenshots_folder_is_refused(run_env: DemoRun) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder; the file and not-a-folder cases cover the path")
    folder = run_env.tmpdir.parent / f"ro-{uuid.uuid4().hex[:8]}"
    folder.mkdir(mode=0o500)
    proc = _run(run_env, "--web", "--screenshots", str(folder), timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == f"error: --screenshots {str(folder)!r} cannot be written (Permission denied); " + (
        "expected a writable folder\n"
    )


def test_without_chromium_it_says_what_to_install(run_env: DemoRun) -> None:
    env = {**run_env.env, "CERTLESS_CHROMIUM": str(run_env.tmpdir / "no-chromium")}
    proc = _run(run_env, "--web", env=env, timeout=60)
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith(f"error: Chromium cannot start from {env['CERTLESS_CHROMIUM']}")
    assert "apt-get install chromium" in proc.stderr
    assert "Stack web" not in proc.stdout  # said before planning or starting anything
    assert run_env.leftovers() == ([], [])
