"""Token throughput of the local identity emulator on loopback: prints requests per second.

Starts `python -m emulator --plan tests/emulator/fixture_plan.json --no-rate-limit` as its own process,
then drives it from several client processes, each with a few threads on keep-alive connections:

* entra-token: POST /{tenant}/oauth2/v2.0/token, client_credentials with a managed-identity assertion
  (full FIC validation: signature, lifetime, app lookup, FIC match) and a freshly signed RS256 token;
* imds: GET /metadata/identity/oauth2/token (a freshly signed token per request);
* appservice: GET /msi/token with X-IDENTITY-HEADER.

The identity endpoints' real limits (20/s, 5 concurrent) and their token cache are switched off for
this measurement, so every request signs a token.

    .venv/bin/python benchmarks/emulator_throughput.py [--seconds 5] [--processes 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "tests" / "emulator" / "fixture_plan.json"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _connection(url: str, ca: str) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    if parts.scheme == "https":
        ctx = ssl.create_default_context(cafile=ca)
        return http.client.HTTPSConnection(parts.hostname or "", parts.port, context=ctx, timeout=30)
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)


def _drive(job: dict[str, Any], deadline: float, counts: dict[str, int], lock: threading.Lock) -> None:
    conn = _connection(job["base"], job["ca"])
    ok = failed = 0
    while time.monotonic() < deadline:
        conn.request(job["method"], job["path"], body=job.get("body"), headers=job["headers"])
        resp = conn.getresponse()
        resp.read()
        if resp.status == 200:
            ok += 1
        else:
            failed += 1
    conn.close()
    with lock:
        counts["ok"] += ok
        counts["failed"] += failed


def _worker(args: tuple[dict[str, Any], float, int]) -> dict[str, int]:
    job, deadline, threads = args
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()
    pool = [threading.Thread(target=_drive, args=(job, deadline, counts, lock)) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return counts


def measure(name: str, job: dict[str, Any], seconds: float, processes: int, threads: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as pool:
        pool.map(_worker, [(job, time.monotonic() + 0.3, 1)] * processes)  # warm up connections and imports
        started = time.monotonic()
        results = pool.map(_worker, [(job, started + seconds, threads)] * processes)
        elapsed = time.monotonic() - started
    ok = sum(r["ok"] for r in results)
    failed = sum(r["failed"] for r in results)
    print(
        f"{name:12s} {ok / elapsed:8.0f} req/s   ({ok} ok, {failed} failed, {elapsed:.1f} s, "
        f"{processes} processes x {threads} threads, keep-alive)",
        flush=True,
    )


def start_server(state: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulator",
            "--plan",
            str(PLAN),
            "--state",
            str(state),
            "--no-rate-limit",
            "--no-token-cache",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Press Ctrl-C"):
            return proc
    raise SystemExit("the emulator did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    plan = json.loads(PLAN.read_text())
    orders = plan["outputs"]["workloads"]["orders"]
    tenant = plan["outputs"]["tenantId"]
    with tempfile.TemporaryDirectory() as tmp:
        state_path = Path(tmp) / "state.json"
        server = start_server(state_path)
        try:
            state = json.loads(state_path.read_text())
            env = state["env"]["orders"]
            ca = state["ca_bundle_path"]
            imds_base = env_vm = state["env"]["orders"]["vm"]["AZURE_POD_IDENTITY_AUTHORITY_HOST"]
            imds_path = (
                urlsplit(env_vm).path
                + "/metadata/identity/oauth2/token?"
                + urlencode(
                    {
                        "api-version": "2018-02-01",
                        "resource": "api://AzureADTokenExchange",
                        "client_id": orders["identityClientId"],
                    }
                )
            )
            conn = _connection(imds_base, ca)
            conn.request("GET", imds_path, headers={"Metadata": "true"})
            assertion = json.loads(conn.getresponse().read())["access_token"]
            conn.close()
            form = urlencode(
                {
                    "grant_type": "client_credentials",
                    "client_id": orders["appClientId"],
                    "client_assertion_type": JWT_BEARER,
                    "client_assertion": assertion,
                    "scope": "https://storage.azure.com/.default",
                }
            )
            app_service = env["appservice"]
            jobs = {
                "entra-token": {
                    "base": state["entra_url"],
                    "ca": ca,
                    "method": "POST",
                    "path": f"/{tenant}/oauth2/v2.0/token",
                    "body": form,
                    "headers": {"Content-Type": "application/x-www-form-urlencoded"},
                },
                "imds": {
                    "base": imds_base,
                    "ca": ca,
                    "method": "GET",
                    "path": imds_path,
                    "headers": {"Metadata": "true"},
                },
                "appservice": {
                    "base": app_service["IDENTITY_ENDPOINT"],
                    "ca": ca,
                    "method": "GET",
                    "path": "/msi/token?"
                    + urlencode(
                        {
                            "api-version": "2019-08-01",
                            "resource": "https://storage.azure.com",
                            "client_id": orders["identityClientId"],
                        }
                    ),
                    "headers": {"X-IDENTITY-HEADER": app_service["IDENTITY_HEADER"]},
                },
            }
            print(f"emulator throughput on loopback ({os.cpu_count()} CPUs; server is one process)")
            for name, job in jobs.items():
                measure(name, job, args.seconds, args.processes, args.threads)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
