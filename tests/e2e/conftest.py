"""Shared fixtures for the end-to-end tests: one Azurite for the session, one emulator per stack.

Plans for the stacks are written concurrently (one process each: the Pulumi mock engine is global).
Everything is stopped and every file removed at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from certless_ops.azurite import Azurite, AzuriteMissing, locate_azurite
from certless_ops.demo import chain
from certless_ops.storage_rbac import StorageRbac
from emulator import Emulator, Records

from .support import STACKS, Chain, Plan, storage_rbac
from .web_support import WebChain, web_chain


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_azurite() -> None:
    """Skip on a developer's machine, fail in CI, with the one-line fix when Node.js/Azurite is missing."""
    try:
        locate_azurite()
    except AzuriteMissing as exc:
        if _in_ci():
            pytest.fail(str(exc), pytrace=False)
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def e2e_workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="certless-e2e-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    require_azurite()
    with Azurite() as running:
        yield running


@pytest.fixture(scope="session")
def plans(e2e_workdir: Path) -> dict[str, Plan]:
    with ThreadPoolExecutor(max_workers=len(STACKS)) as pool:
        futures = {
            stack: pool.submit(
                chain.write_plan, stack, e2e_workdir / f"plan-{stack}.json", config_file=config
            )
            for stack, config in STACKS.items()
        }
        return {
            stack: Plan(stack, e2e_workdir / f"plan-{stack}.json", f.result()) for stack, f in futures.items()
        }


@pytest.fixture(scope="session")
def chains(plans: dict[str, Plan], azurite: Azurite) -> Iterator[dict[str, Chain]]:
    started: list[Emulator] = []
    stopped: list[StorageRbac] = []
    try:
        result = {}
        for stack, plan in plans.items():
            emu = Emulator(Records.from_plan(plan.path)).start()
            started.append(emu)
            # Every blob call of the session's chains passes Azure's RBAC check for the plan's grants.
            storage = storage_rbac(plan.doc, emu, azurite).start()
            stopped.append(storage)
            result[stack] = Chain(plan, emu, azurite, storage)
        yield result
    finally:
        for storage in stopped:
            storage.stop()
        for emu in started:
            emu.stop()


@pytest.fixture(scope="session")
def web_stack(azurite: Azurite, e2e_workdir: Path) -> Iterator[WebChain]:
    """The web stack planned, the emulator with test users, the RBAC check and both sample apps running."""
    workdir = e2e_workdir / "web"
    workdir.mkdir()
    with web_chain(azurite, workdir) as running:
        yield running
