"""A refused YAML tag names the key that carries it, at any depth, not only the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from certless_ops.errors import UserError
from certless_ops.plan.config import load_stack_config

from .support import MINI


def stack_dir(tmp_path: Path, body: str) -> Path:
    for f in MINI.iterdir():
        if f.name in ("Pulumi.yaml", "__main__.py"):
            (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "Pulumi.t.yaml").write_text("config:\n" + body, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("  certless:tenantId: !!binary aGk=\n", "certless:tenantId"),
        ("  certless:workloads: !!set {a}\n", "certless:workloads"),
        (
            "  certless:workloads:\n    api:\n      containerApp:\n        image: !!binary aGk=\n",
            "certless:workloads.api.containerApp.image",
        ),
        (
            "  certless:apps:\n    orders:\n      owners:\n        - !!timestamp 2020-01-01\n",
            "certless:apps.orders.owners[0]",
        ),
        ("  certless:color: !custom blue\n", "certless:color"),
    ],
)
def test_a_refused_tag_names_its_key(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(UserError) as caught:
        load_stack_config(stack_dir(tmp_path, body), "t")
    message = str(caught.value)
    assert "is not accepted" in message and f"(on {key})" in message, message
    assert "\n" not in message
