"""Stack files are read strictly: what YAML would silently change or blow up is one clear error."""

from __future__ import annotations

import time
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
    ("body", "fragment"),
    [
        ("  certless:tenantId: !!binary aGk=\n", "tag !!binary is not accepted"),
        ("  certless:workloads: !!set {a}\n", "tag !!set is not accepted"),
        (
            "  certless:workloads:\n    a: {kind: aks}\n    a: {kind: appservice}\n",
            "key 'a' at line 4 is already defined at line 3",
        ),
        ("  certless:x: &a [1]\n  certless:y: *a\n", "aliases (*name) are not accepted"),
    ],
)
def test_refused_yaml_is_one_line_naming_the_line(tmp_path: Path, body: str, fragment: str) -> None:
    with pytest.raises(UserError) as err:
        load_stack_config(stack_dir(tmp_path, body), "t")
    assert fragment in str(err.value) and "at line" in str(err.value) and "\n" not in str(err.value)


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    lines = ["  certless:a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"  certless:a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]
    start = time.monotonic()
    with pytest.raises(UserError, match="aliases"):
        load_stack_config(stack_dir(tmp_path, "\n".join(lines) + "\n"), "t")
    assert time.monotonic() - start < 2


def test_dates_stay_the_text_typed_and_null_leaves_a_key_unset(tmp_path: Path) -> None:
    cfg = load_stack_config(
        stack_dir(tmp_path, "  certless:tenantId: 2020-01-01\n  certless:color: null\n"), "t"
    )
    assert cfg.wire["certless:tenantId"] == "2020-01-01"
    assert cfg.wire["certless:color"] == ""
