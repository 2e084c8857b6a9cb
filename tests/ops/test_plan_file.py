"""load_plan: the reader the review, blue-green and e2e tools use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from certless_ops.errors import UserError
from certless_ops.plan.file import load_plan
from certless_ops.plan.writer import write_plan


def test_round_trip(tmp_path: Path, mini_plan: dict[str, Any]) -> None:
    target = tmp_path / "plan.json"
    write_plan(mini_plan, str(target))
    assert load_plan(target) == mini_plan
    assert not list(tmp_path.glob(".*.tmp"))  # no temp file left behind


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not JSON (line 1, column 2"),
        (
            '{"schema": "certless.plan/v2", "resources": [], "outputs": {}}',
            "has schema 'certless.plan/v2'; expected 'certless.plan/v1'",
        ),
        ('["a list"]', "has schema None; expected 'certless.plan/v1'"),
        ('{"schema": "certless.plan/v1", "outputs": {}}', "has no 'resources' list"),
    ],
)
def test_bad_files_give_one_clear_error(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(UserError) as err:
        load_plan(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"does not exist; create it with `./dev plan"):
        load_plan(tmp_path / "absent.json")


def test_writer_refuses_a_missing_folder(tmp_path: Path, mini_plan: dict[str, Any]) -> None:
    with pytest.raises(UserError, match="does not exist"):
        write_plan(mini_plan, str(tmp_path / "no" / "plan.json"))
