"""The next steps `duplicate` prints are the runbook's (docs/blue-green.md), and every flag in them exists."""

from __future__ import annotations

import argparse
import importlib
import re
import shlex
from pathlib import Path

import pytest

from certless_ops.bluegreen.runbook import Release, first_release_hint, release_steps

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "blue-green.md"

# The flags of each Pulumi CLI command the steps print, as pulumi/pulumi's cobra commands define them
# (pkg/cmd/pulumi: stack init, preview, up, destroy, stack rm; -s/--stack on each).
PULUMI_FLAGS: dict[tuple[str, ...], set[str]] = {
    ("stack", "init"): {"-s", "--stack", "--secrets-provider", "--copy-config-from", "--no-select"},
    ("preview",): {"-s", "--stack", "--policy-pack", "--policy-pack-config", "--diff"},
    ("up",): {"-s", "--stack", "--policy-pack", "--policy-pack-config", "--yes"},
    ("destroy",): {"-s", "--stack", "--exclude-protected", "--yes"},
    ("stack", "rm"): {"-s", "--stack", "--yes", "--force", "--preserve-config"},
}
# Flags followed by a value (the rest are switches).
PULUMI_VALUE_FLAGS = {"-s", "--stack", "--secrets-provider", "--copy-config-from", "--policy-pack"}
PULUMI_VALUE_FLAGS |= {"--policy-pack-config"}


def runbook_commands(section: str) -> list[str]:
    """The commands of the first bash block under a heading of the runbook, comments dropped."""
    text = RUNBOOK.read_text(encoding="utf-8")
    body = text[text.index(f"## {section}") :]
    block = body[body.index("```bash\n") + len("```bash\n") : body.index("\n```", body.index("```bash"))]
    lines = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    return [line for line in lines if line.startswith(("./dev ", "pulumi "))]


def commands(steps: list[str]) -> list[str]:
    """The steps that are commands, without their trailing comment."""
    return [s.split("  #", 1)[0].strip() for s in steps if s.startswith(("./dev ", "pulumi "))]


FIRST = Release("prod", "prod-green", source_owns_layer=True, org="acme")
LATER = Release("prod-green", "prod-blue", source_owns_layer=False, org="acme")


@pytest.mark.parametrize(
    ("release", "section"), [(FIRST, "The first release"), (LATER, "Every later release")]
)
def test_printed_commands_are_the_runbooks_in_its_order(release: Release, section: str) -> None:
    documented = runbook_commands(section)
    assert documented[0].startswith("./dev duplicate --from")  # the step that prints the others
    # The runbook's own check that the owner kept its output is not a step of the release.
    expected = [c for c in documented[1:] if not c.startswith("pulumi stack output")]
    assert commands(release_steps(release)) == expected


@pytest.mark.parametrize("release", [FIRST, LATER], ids=["first", "later"])
def test_prose_steps_sit_where_the_runbook_has_them(release: Release) -> None:
    steps = release_steps(release)
    assert steps[0].startswith(f"edit what differs per colour in Pulumi.{release.target}.yaml")
    move = next(i for i, s in enumerate(steps) if "move traffic" in s)
    assert steps[move - 1] == f"pulumi up -s {release.target}"
    assert steps[move + 1].startswith(f"pulumi destroy -s {release.source}")
    assert "smoke-test" in steps[move]


def test_the_owner_keeps_its_protected_layer_and_a_colour_goes_whole() -> None:
    assert release_steps(FIRST)[-1] == "pulumi destroy -s prod --exclude-protected"
    assert not any("stack rm" in s for s in release_steps(FIRST))
    assert release_steps(LATER)[-2:] == ["pulumi destroy -s prod-green", "pulumi stack rm prod-green"]


def test_a_custom_secrets_provider_is_passed_to_stack_init() -> None:
    provider = "azurekeyvault://vault.vault.azure.net/keys/pulumi"
    steps = release_steps(Release("prod", "prod-green", True, None, provider))
    assert f"pulumi stack init prod-green --secrets-provider {provider}" in steps


def test_the_owner_registers_the_colours_redirect_uris_before_the_colour_is_created() -> None:
    # Web apps: duplicate added green's sign-in URIs to Pulumi.prod.yaml; prod's `pulumi up` registers them.
    release = Release("prod", "prod-green", True, "acme", owner_redirects=("prod", ("orders",)))
    steps = commands(release_steps(release))
    assert (
        steps.index("pulumi up -s prod")
        == steps.index("./dev bluegreen-check --blue prod --green prod-green") + 1
    )
    assert steps.index("pulumi up -s prod") < steps.index("pulumi stack init acme/prod-green")


def pulumi_flags(command: str) -> tuple[tuple[str, ...], list[str]]:
    words = shlex.split(command)[1:]
    name = tuple(words[:2]) if words[0] == "stack" else (words[0],)
    flags, rest = [], words[len(name) :]
    while rest:
        word = rest.pop(0)
        if word.startswith("-"):
            flags.append(word)
            if word in PULUMI_VALUE_FLAGS:
                assert rest and not rest[0].startswith("-"), f"{word} needs a value in {command!r}"
                rest.pop(0)
        elif name not in (("stack", "init"), ("stack", "rm")):  # these take the stack as an argument
            raise AssertionError(f"unexpected argument {word!r} in {command!r}")
    return name, flags


def every_printed_command() -> list[str]:
    provider = Release("prod", "prod-green", True, "acme", "azurekeyvault://v.vault.azure.net/keys/k")
    web = Release("prod-green", "prod-blue", False, None, owner_redirects=("prod", ("orders",)))
    return [c for r in (FIRST, LATER, provider, web) for c in commands(release_steps(r))]


@pytest.mark.parametrize("command", every_printed_command())
def test_every_printed_command_uses_real_flags(command: str) -> None:
    if command.startswith("pulumi "):
        name, flags = pulumi_flags(command)
        assert name in PULUMI_FLAGS, f"{command!r}: not a command the steps are checked for"
        assert set(flags) <= PULUMI_FLAGS[name], (
            f"{command!r}: unknown flags {set(flags) - PULUMI_FLAGS[name]}"
        )
        return
    words = shlex.split(command)[1:]
    module = importlib.import_module(f"certless_ops.commands.{words[0].replace('-', '_')}")
    parser = argparse.ArgumentParser(prog=words[0], exit_on_error=False)
    module.add_arguments(parser)
    parser.parse_args(words[1:])  # raises on an unknown flag or a missing value


def test_the_demo_hint_starts_the_runbook() -> None:
    hint = first_release_hint("dev")
    assert "./dev duplicate --from dev --color green" in hint
    first = runbook_commands("The first release")[0]
    assert re.sub(r" --org \S+", "", first).replace("prod", "dev") in hint
