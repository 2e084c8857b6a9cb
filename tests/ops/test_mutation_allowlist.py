"""benchmarks/mutation_equivalent.json: every recorded equivalent mutant says why, and the one class rule
(a case-only change of a key given to a case-insensitive settings lookup) takes nothing else."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import mutation


def test_every_entry_names_its_mutant_or_class_and_gives_a_reason() -> None:
    entries = [*mutation.load_equivalent().values(), *mutation.load_rules()]
    assert entries
    for entry in entries:
        assert len(str(entry["reason"])) > 20, entry
        if "mutant" in entry:
            assert [line[0] for line in entry["diff"]] == ["-", "+"], entry["mutant"]
        else:
            assert entry["rule"] == "case-insensitive-lookup" and entry["receivers"], entry


LOOKUP = '        token_cache_directory=s.get("TokenCacheDirectory"),'


@pytest.mark.parametrize(
    ("name", "removed", "added", "equivalent"),
    [
        (
            "certless.settings.x_f__mutmut_1",
            LOOKUP,
            LOOKUP.replace("TokenCacheDirectory", "tokencachedirectory"),
            True,
        ),
        (
            "certless.settings.x_f__mutmut_2",
            LOOKUP,
            LOOKUP.replace("TokenCacheDirectory", "TOKENCACHEDIRECTORY"),
            True,
        ),
        # Not a case change of the key: a real mutant, judged.
        (
            "certless.settings.x_f__mutmut_3",
            LOOKUP,
            LOOKUP.replace('"TokenCacheDirectory"', '"XXTokenCacheDirectoryXX"'),
            False,
        ),
        (
            "certless.settings.x_f__mutmut_4",
            LOOKUP,
            LOOKUP.replace("token_cache_directory", "TOKEN_CACHE_DIRECTORY"),
            False,
        ),
        (
            "certless.settings.x_f__mutmut_7",
            '        _list_setting(s, "AdditionallyAllowedTenants")',
            '        _list_setting(s, "additionallyallowedtenants")',
            True,
        ),
        # Environment variables are case-sensitive: not the settings section's lookup.
        (
            "certless.settings.x_f__mutmut_5",
            '    name = env.get("DOTNET_ENVIRONMENT")',
            '    name = env.get("dotnet_environment")',
            False,
        ),
        # Another module's lookups are not the settings section's.
        (
            "certless.obo.x_f__mutmut_6",
            LOOKUP,
            LOOKUP.replace("TokenCacheDirectory", "tokencachedirectory"),
            False,
        ),
    ],
)
def test_the_case_insensitive_lookup_rule_takes_only_a_case_change_of_a_section_key(
    name: str, removed: str, added: str, equivalent: bool
) -> None:
    found = mutation.equivalent_by_rule(name, [f"-{removed}", f"+{added}"], mutation.load_rules())
    assert (found is not None) is equivalent
