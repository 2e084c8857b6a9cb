"""The README's demo (`./dev demo` runs `python -m certless_ops demo`), as a user runs it: a process
with its own TMPDIR, checked for every hop it must show, for tokens it must not show, and for anything
left behind (processes found by an environment marker their children inherit; files in its TMPDIR),
also when interrupted with Ctrl-C.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from certless_ops.plan.picture_dot import BROKEN

from .conftest import require_azurite
from .support import JWT, Plan, processes_with_env, set_app_fic

pytestmark = pytest.mark.e2e
SVG = "{http://www.w3.org/2000/svg}"


@dataclass
class DemoRun:
    marker: str
    tmpdir: Path
    env: dict[str, str]
    cwd: Path  # where the user runs it: the picture of the stack is left there

    def leftovers(self) -> tuple[list[int], list[str]]:
        return processes_with_env(self.marker), sorted(p.name for p in self.tmpdir.iterdir())


@pytest.fixture
def demo_env(e2e_workdir: Path) -> Iterator[DemoRun]:
    require_azurite()
    marker = f"CERTLESS_TEST_DEMO={uuid.uuid4().hex}"
    tmpdir = e2e_workdir / f"demo-tmp-{uuid.uuid4().hex[:8]}"
    tmpdir.mkdir()
    cwd = e2e_workdir / f"demo-cwd-{uuid.uuid4().hex[:8]}"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AzureAd__", "AZURE_", "IDENTITY_"))}
    key, value = marker.split("=", 1)
    env.update({key: value, "TMPDIR": str(tmpdir), "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"})
    yield DemoRun(marker, tmpdir, env, cwd)


def _demo(*args: str) -> list[str]:
    return [sys.executable, "-m", "certless_ops", "demo", *args]


def test_demo_shows_each_hop_then_stops_everything(demo_env: DemoRun) -> None:
    proc = subprocess.run(
        _demo("--stack", "dev"),
        cwd=demo_env.cwd,
        env=demo_env.env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr + out
    # The plan, then each hop of the acquisition in order, then the blob call.
    hops = [
        "Stack dev (tenant",
        f"Trust-chain picture of the stack (SVG, drawn by Graphviz): {demo_env.cwd}/certless-demo-dev.svg",
        "The app's environment",
        "Managed identity token from the appservice identity endpoint",
        "identity token claims",
        "Token exchange at Entra for the app's access token",
        "The assertion next to FIC ",
        "the app's access token: claims",
        "BlobServiceClient → Azurite",
        "next: a blue-green release of dev starts with ./dev duplicate --from dev --color green",
        "stopped the emulator and Azurite and removed the temp dir.",
    ]
    positions = [out.find(h) for h in hops]
    assert -1 not in positions, [h for h, p in zip(hops, positions, strict=True) if p == -1]
    assert positions == sorted(positions)
    assert out.count("✓ match") == 3  # issuer, subject, audience of the identity token vs the app's FIC
    assert "https://sts.windows.net/" in out and "https://storage.azure.com" in out  # a Storage v1 token
    assert "same bytes" in out
    assert "IDENTITY_HEADER" in out and "(set, value hidden)" in out  # named, never shown
    assert not JWT.search(out + proc.stderr), "a token was printed"
    assert demo_env.leftovers() == ([], [])
    # The picture outlives the temp dir: the stack's chain, drawn by Graphviz.
    svg = ET.parse(demo_env.cwd / "certless-demo-dev.svg").getroot()
    labels = "|".join(svg.itertext())
    assert "App Service orders-web" in labels and "app certless-orders-dev" in labels
    assert not [p for p in svg.iter(f"{SVG}path") if p.get("stroke") == BROKEN], "a sound link drawn broken"
    assert sorted(p.name for p in demo_env.cwd.iterdir()) == ["certless-demo-dev.svg"]


def _read_lines(proc: subprocess.Popen[str]) -> tuple[queue.Queue[str], threading.Thread]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return lines, thread


def _wait_for(lines: queue.Queue[str], text: str, seen: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if text in line:
            return
    pytest.fail(f"the demo never printed {text!r}; it printed:\n{''.join(seen)}")


@pytest.mark.parametrize(
    ("when", "signum"),
    [("while-running", signal.SIGINT), ("while-starting", signal.SIGINT), ("while-running", signal.SIGTERM)],
    ids=["ctrl-c-while-running", "ctrl-c-while-starting", "sigterm-while-running"],
)
def test_ctrl_c_stops_everything(demo_env: DemoRun, plans: dict[str, Plan], when: str, signum: int) -> None:
    proc = subprocess.Popen(
        _demo("--plan", str(plans["dev"].path), "--keep-running"),
        cwd=demo_env.cwd,
        env=demo_env.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    seen: list[str] = []
    try:
        lines, pump = _read_lines(proc)
        if when == "while-running":
            _wait_for(lines, "Press Ctrl-C to stop", seen)
            running, files = demo_env.leftovers()
            assert running and files, "the demo should have Azurite and its temp dir while it runs"
        else:
            _wait_for(lines, "Stack dev (tenant", seen)  # the emulator and Azurite are starting now
        proc.send_signal(signum)
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    pump.join(timeout=10)
    while not lines.empty():
        seen.append(lines.get())
    output = "".join(seen)
    assert "Interrupted: stopped the emulator and Azurite and removed the temp dir." in output, output
    assert "Traceback" not in output
    assert demo_env.leftovers() == ([], [])


def test_demo_marks_the_field_that_differs_when_the_fic_is_wrong(
    demo_env: DemoRun, plans: dict[str, Plan]
) -> None:
    plan = plans["dev"]
    w = plan.workload("orders-web")
    broken = demo_env.tmpdir.parent / f"broken-{demo_env.tmpdir.name}.json"
    broken.write_text(json.dumps(plan.broken(set_app_fic("orders-web", subject=w["identityClientId"]))))
    try:
        proc = subprocess.run(
            _demo("--plan", str(broken)),
            cwd=demo_env.cwd,
            env=demo_env.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        broken.unlink()
    out = proc.stdout
    assert proc.returncode == 1, proc.stderr + out
    # Issuer and audience match; the subject row shows the principal ID presented vs the client ID trusted.
    assert out.count("✓ match") == 2 and out.count("✗ differs") == 1
    subject_row = next(line for line in out.splitlines() if "subject" in line and "differs" in line)
    assert w["identityPrincipalId"] in subject_row and w["identityClientId"] in subject_row
    assert "AADSTS70021" in out and "The app failed" in out
    assert not JWT.search(out + proc.stderr)
    assert demo_env.leftovers() == ([], [])
    # The picture was written before the chain failed, and draws the FIC that trusts the wrong ID red.
    svg = ET.parse(demo_env.cwd / "certless-demo-dev.svg").getroot()
    assert any(p.get("stroke") == BROKEN and p.get("stroke-dasharray") for p in svg.iter(f"{SVG}path")), (
        "no link drawn broken"
    )


def test_demo_without_node_says_what_to_install(demo_env: DemoRun) -> None:
    env = {**demo_env.env, "PATH": str(demo_env.tmpdir)}  # no node (nor anything else) on PATH
    proc = subprocess.run(
        _demo(), cwd=demo_env.cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: Node.js is not installed")
    assert "apt-get install nodejs npm" in proc.stderr and "./dev setup" in proc.stderr


def test_demo_with_an_unknown_workload_names_the_choices(demo_env: DemoRun, plans: dict[str, Plan]) -> None:
    proc = subprocess.run(
        _demo("--plan", str(plans["dev"].path), "--workload", "nope"),
        check=False,
        cwd=demo_env.cwd,
        env=demo_env.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip() == "error: --workload 'nope': expected one of the stack's workloads: orders-web"
    )
    assert demo_env.leftovers() == ([], [])
