"""The plan file has sorted keys at every level, as docs/plan-schema promises: diffs stay readable."""

from __future__ import annotations

import json
from typing import Any

from certless_ops.plan.writer import dumps


def _pairs_sorted(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    assert keys == sorted(keys), keys
    return dict(pairs)


def test_every_object_in_the_written_plan_has_sorted_keys(mini_plan: dict[str, Any]) -> None:
    text = dumps(mini_plan)
    json.loads(text, object_pairs_hook=_pairs_sorted)
    assert text.count("{") > 10  # a real plan with nested objects, not an empty one


def test_keys_given_out_of_order_come_out_sorted() -> None:
    json.loads(dumps({"b": {"z": 1, "a": [{"y": 1, "x": 2}]}, "a": 0}), object_pairs_hook=_pairs_sorted)
