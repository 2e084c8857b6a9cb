"""The reliability suite's bad-input figures hold: 100% clean errors, each naming the key, on ≥300
generated inputs per surface plus the fixed list (benchmarks/reliability_inputs.py prints the same)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import reliability_inputs as inputs


@pytest.mark.parametrize("surface", ["stack config", "runtime settings"])
def test_every_bad_input_is_a_clean_error_naming_its_key(surface: str) -> None:
    run = inputs.stack_config_outcomes if surface == "stack config" else inputs.settings_outcomes
    # No time limit here (a loaded CI machine is no defect); the benchmark prints the times.
    outcomes = run(300, None)
    generated = [o for o in outcomes if o.origin == "generated"]
    assert len(generated) >= 300
    assert len({o.key for o in generated}) >= 8  # spread over many keys, not one
    unclean = [f"{o.key}: {o.why}" for o in outcomes if not o.clean]
    assert unclean == []


def test_the_judge_catches_what_it_must() -> None:
    # A clean error must name the key, stay short, and never echo a long value whole.
    from stackconfig import ConfigError

    def raising(message: str) -> None:
        raise ConfigError(message)

    long = "v" * 300
    assert inputs.judge("s", "fixed", "certless:x", 1, lambda: raising("config certless:x: bad")).clean
    assert not inputs.judge("s", "fixed", "certless:x", 1, lambda: raising("config y: bad")).clean
    assert not inputs.judge("s", "fixed", "certless:x", long, lambda: raising(f"certless:x {long}")).clean
    assert not inputs.judge("s", "fixed", "certless:x", 1, lambda: raising("certless:x\nmore")).clean
    assert not inputs.judge("s", "fixed", "certless:x", 1, lambda: None).clean
    assert not inputs.judge("s", "fixed", "certless:x", 1, lambda: int("x")).clean
