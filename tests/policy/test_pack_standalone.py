"""The pack loads alone, as the Pulumi CLI loads it and as ``pulumi policy publish`` ships it.

The CLI installs ``policy/requirements.txt`` into the virtualenv named in ``PulumiPolicy.yaml`` and runs
``python -u -m pulumi.policy <engine> .`` in the pack folder. A published pack is that folder alone,
unpacked somewhere else. So this test copies ``policy/`` to an empty directory, builds a virtualenv from
its requirements only (no repository, no editable install), serves the pack from there and asks it over
gRPC: an import of anything outside the pack fails here, as it would for an organisation enforcing it.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc

from policy.rules import ALL_POLICIES

ROOT = Path(__file__).resolve().parents[2]
PACK = ROOT / "policy"
STDLIB = set(sys.stdlib_module_names)
# Import names of the distributions in requirements.txt (and what they bring: pulumi's gRPC stubs).
REQUIRED_IMPORTS = {"pulumi", "pulumi_policy", "detect_secrets", "yaml", "grpc", "google"}


def _uv() -> str:
    found = ROOT / ".tools" / "bin" / "uv"
    if found.is_file():
        return str(found)
    on_path = shutil.which("uv")
    if on_path is None:
        pytest.skip("uv is not installed (./dev setup installs it into .tools/bin)")
    return on_path


def test_the_pack_declares_its_own_environment() -> None:
    project = yaml.safe_load((PACK / "PulumiPolicy.yaml").read_text())
    options = project["runtime"]["options"]
    # Inside the pack: a published pack carries no path back into this repository.
    assert options == {"toolchain": "pip", "virtualenv": "venv"}
    names = [
        line.split("==")[0].strip().lower()
        for line in (PACK / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert names == ["pulumi", "pulumi-policy", "detect-secrets", "pyyaml"]


def test_no_module_of_the_pack_imports_outside_the_pack_and_its_requirements() -> None:
    outside: list[str] = []
    for path in sorted(PACK.rglob("*.py")):
        if "venv" in path.relative_to(PACK).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                tops = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top not in STDLIB and top not in REQUIRED_IMPORTS and top != "rules":
                    outside.append(f"{path.relative_to(ROOT)}: {top}")
    assert outside == []


@pytest.fixture(scope="module")
def published_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of policy/ with a virtualenv built from its requirements.txt alone."""
    where = tmp_path_factory.mktemp("published") / "certless"
    shutil.copytree(PACK, where, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    uv = _uv()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "UV_PROJECT_ENVIRONMENT")
    }
    subprocess.run(
        [uv, "venv", "--quiet", "--python", sys.executable, str(where / "venv")],
        check=True,
        env=env,
        timeout=300,
    )
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(where / "venv" / "bin" / "python"), "-r",
         str(where / "requirements.txt")],
        check=True, env=env, timeout=600,
    )  # fmt: skip
    return where


@pytest.fixture(scope="module")
def analyzer(published_pack: Path) -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    python = published_pack / "venv" / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(
        {
            "PULUMI_CONFIG": "{}",
            "PULUMI_PROJECT": "certless",
            "PULUMI_STACK": "prod",
            "PULUMI_DRY_RUN": "true",
        }
    )
    process = subprocess.Popen(
        [str(python), "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=published_pack,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode().strip()
        if not line.isdigit():
            process.kill()
            _, err = process.communicate(timeout=10)
            pytest.fail(f"the published pack did not start; stdout {line!r}, stderr:\n{err.decode()[-2000:]}")
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_published_pack_has_no_way_back_into_the_repository(published_pack: Path) -> None:
    python = published_pack / "venv" / "bin" / "python"
    probe = (
        "import importlib.util as u;"
        " print([m for m in ('stackconfig', 'components', 'certless_ops') if u.find_spec(m)])"
    )
    out = subprocess.run(
        [str(python), "-c", probe], cwd=published_pack, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_published_pack_serves_every_policy(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "certless"
    assert {p.name for p in info.policies} == {p.name for p in ALL_POLICIES}


def test_the_published_pack_finds_a_literal_secret_in_app_settings(
    analyzer: analyzer_pb2_grpc.AnalyzerStub,
) -> None:
    from google.protobuf import struct_pb2

    from certless_ops.review.analyzer import configure_request
    from certless_ops.review.pack_config import parse_pack_config

    analyzer.Configure(configure_request(ALL_POLICIES, parse_pack_config({}, ALL_POLICIES)))
    props = struct_pb2.Struct()
    props.update(
        {
            "siteConfig": {
                "appSettings": [
                    {
                        "name": "STORAGE",
                        "value": "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc==",
                    }
                ]
            }
        }
    )
    request = proto.AnalyzeRequest(
        type="azure-native:web:WebApp",
        urn="urn:pulumi:prod::certless::azure-native:web:WebApp::orders",
        name="orders",
        properties=props,
    )
    diagnostics = list(analyzer.Analyze(request).diagnostics)
    assert any(d.policyName == "certless-no-secrets-in-settings" for d in diagnostics), diagnostics
    assert all("abc==" not in d.message for d in diagnostics)
