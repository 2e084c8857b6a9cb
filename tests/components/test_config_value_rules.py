"""Value rules: every bad value is a one-line ConfigError naming the key, the value capped at ~80 chars."""

from __future__ import annotations

import json
from typing import Any

import pytest
from main_runner import shipped

from stackconfig import ConfigError, load


def with_value(key: str, value: Any) -> dict[str, Any]:
    cfg = shipped("prod")
    cfg[key] = value
    return cfg


def error_of(cfg: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as err:
        load(cfg, set(), "prod")
    return str(err.value)


@pytest.mark.parametrize("digit", ["\u00b2", "\u0663", "\uff11"])
def test_unicode_digits_are_refused_by_name(digit: str) -> None:
    cfg = shipped("prod")
    cfg["certless:workloads"]["orders-api"]["containerApp"]["targetPort"] = digit
    message = error_of(cfg)
    assert "orders-api.containerApp.targetPort" in message and "an integer" in message


def test_a_date_tenant_is_named() -> None:
    assert "certless:tenantId: got '2020-01-01', expected a GUID" in error_of(
        with_value("certless:tenantId", "2020-01-01")
    )


def test_a_megabyte_value_is_echoed_capped() -> None:
    message = error_of(with_value("certless:tenantId", "x" * 1_000_000))
    assert "certless:tenantId" in message and len(message) < 300 and "1000000 characters" in message


def test_a_megabyte_unknown_key_is_capped() -> None:
    message = error_of(with_value("certless:" + "k" * 1_000_000, "v"))
    assert "unknown key" in message and len(message) < 400


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deep_nesting_never_reaches_the_json_decoder_recursion(depth: int) -> None:
    message = error_of(with_value("certless:workloads", "[" * depth + "]" * depth))
    assert "certless:workloads" in message and "nested at most" in message and len(message) < 300


def test_decoded_values_still_work() -> None:
    cfg = {k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in shipped("prod").items()}
    assert load(cfg, set(), "prod").workloads
