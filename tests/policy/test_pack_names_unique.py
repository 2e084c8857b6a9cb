"""The pack refuses to load with two rules of one name (the engine would report both under one name)."""

from __future__ import annotations

import types

import pytest

import policy.rules as rules
from policy.rules import ALL_POLICIES


def test_every_policy_of_the_pack_has_its_own_name() -> None:
    names = [p.name for p in ALL_POLICIES]
    assert len(names) == len(set(names))


def test_a_repeated_name_stops_the_pack_naming_each_repeat_once(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = ALL_POLICIES[0], ALL_POLICIES[1]
    twice = types.SimpleNamespace(POLICIES=[first, second, first, second, first])
    real_import = rules.importlib.import_module
    monkeypatch.setattr(rules, "RULE_MODULES", ["web", "twice"])
    monkeypatch.setattr(
        rules.importlib,
        "import_module",
        lambda name: twice if name.endswith(".twice") else real_import(name),
    )
    with pytest.raises(RuntimeError) as err:
        rules._load()
    expected = ", ".join(sorted({first.name, second.name}))
    assert str(err.value) == f"policy names must be unique in the pack; repeated: {expected}"
