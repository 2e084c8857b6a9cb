"""Runs the real __main__.py (runpy) under the fake engine with a given stack configuration."""

from __future__ import annotations

import json
import runpy
from typing import Any

import pulumi
from component_fakes import ROOT, Recorder, install, run, stack_config
from pulumi.runtime import config as runtime_config

PROGRAM = str(ROOT / "__main__.py")


def run_main(
    stack: str,
    config: dict[str, Any],
    secret_keys: list[str] | None = None,
    stack_outputs: dict[str, Any] | None = None,
    clusters: dict[str, dict[str, Any]] | None = None,
) -> tuple[Recorder, dict[str, Any]]:
    """Returns what was registered and the resolved stack outputs."""
    recorder, fake = install(stack=stack, stack_outputs=stack_outputs)
    fake.clusters.update(clusters or {})
    runtime_config.set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}, secret_keys or []
    )

    def program() -> dict[str, Any]:
        runpy.run_path(PROGRAM, run_name="__main__")
        root = pulumi.runtime.get_root_resource()
        assert root is not None
        return dict(root.outputs)  # type: ignore[attr-defined]

    try:
        outputs = run(program)
    finally:
        runtime_config.set_all_config({}, [])
    return recorder, outputs


def shipped(stack: str) -> dict[str, Any]:
    return {k: json.loads(v) if v[:1] in ("{", "[") else v for k, v in stack_config(stack).items()}
