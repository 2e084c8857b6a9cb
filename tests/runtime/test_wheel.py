"""The runtime wheel as a user gets it: built from the repository, installed into a fresh venv."""

from __future__ import annotations

import email.parser
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import certless

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".tools" / "bin" / "uv"

pytestmark = pytest.mark.skipif(not UV.exists(), reason="needs ./dev setup (uv in .tools/bin)")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [str(UV), "build", "--wheel", "--quiet", "--out-dir", str(out), str(ROOT)], check=True, timeout=300
    )
    (built,) = out.glob("certless-*.whl")
    return built


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_wheel_holds_only_the_runtime_package_with_types_and_license(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    outside = [n for n in names if not n.startswith("certless/") and ".dist-info/" not in n]
    assert outside == []
    assert "certless/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert wheel.name.startswith(f"certless-{certless.__version__}-")
    # The ops command lives in the repository's workspace member, never in the apps' wheel.
    with zipfile.ZipFile(wheel) as archive:
        scripts = archive.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    assert scripts.split() == ["[console_scripts]", "certless", "=", "certless.__main__:main"]


def test_wheel_declares_exactly_the_runtime_dependencies(wheel: Path) -> None:
    meta = _metadata(wheel)
    requires = sorted(
        r.split(";")[0].strip() for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r
    )
    names = [r.split(">")[0].split("<")[0].split("=")[0] for r in requires]
    assert names == ["azure-core", "filelock", "msal"]
    assert meta["Version"] == certless.__version__
    assert meta["License-Expression"] == "MIT"
    assert "Typing :: Typed" in (meta.get_all("Classifier") or [])
    urls = meta.get_all("Project-URL") or []
    assert any(u.startswith("Changelog,") for u in urls)
    # The package page is the package's own README: no repository commands in it.
    assert "./dev" not in meta.get_payload()


def test_wheel_installs_imports_lazily_and_runs_doctor(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run(
        [str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [str(UV), "pip", "install", "--quiet", "--python", str(python), str(wheel)], check=True, timeout=300
    )
    probe = (
        "import json, sys; import certless; "
        "print(json.dumps({'version': certless.__version__, "
        "'heavy': sorted(m for m in ('msal', 'azure.core', 'requests') if m in sys.modules)}))"
    )
    loaded = json.loads(
        subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout
    )
    assert loaded == {"version": certless.__version__, "heavy": []}

    version = subprocess.run(
        [str(venv / "bin" / "certless"), "--version"], check=False, capture_output=True, text=True
    )
    assert (version.returncode, version.stdout.strip()) == (0, f"certless {certless.__version__}")

    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("AzureAd", "AZURE_", "IDENTITY_", "MSI_"))
    }
    empty = tmp_path / "app"
    empty.mkdir()
    doctor = subprocess.run(
        [str(python), "-m", "certless", "doctor"],
        check=False,
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # No settings here: doctor must explain that, as a finding, not crash.
    assert doctor.returncode != 0
    assert "Traceback" not in doctor.stderr + doctor.stdout
    assert "no AzureAd settings" in doctor.stderr
    shutil.rmtree(venv)
