"""The release runbook of docs/blue-green.md as steps, for the commands that print what to do next.

One place writes them, so `duplicate` and the demo print the runbook's steps in its order, and a
test checks every command against the runbook and against the flags the Pulumi CLI defines.
"""

from __future__ import annotations

from dataclasses import dataclass

RUNBOOK = "docs/blue-green.md"


@dataclass(frozen=True)
class Release:
    """One release: the live colour (``source``) is replaced by the new one (``target``)."""

    source: str
    target: str
    source_owns_layer: bool  # the first release from the owner (prod), not a colour (prod-green)
    org: str | None = None
    secrets_provider: str | None = None  # the source's non-default provider, for `pulumi stack init`
    # (owner stack, its app keys) when duplicate added the new colour's redirect URIs to the owner's file
    owner_redirects: tuple[str, tuple[str, ...]] | None = None


def release_steps(release: Release) -> list[str]:
    """After `duplicate` wrote the new stack file: edit, check, create, preview, up, move, retire.

    bluegreen-check finds the owner itself (certless:identityOwner), so the step names no --owner.
    """
    source, target = release.source, release.target
    new_stack = f"{release.org}/{target}" if release.org else target
    provider = f" --secrets-provider {release.secrets_provider}" if release.secrets_provider else ""
    steps = [
        f"edit what differs per colour in Pulumi.{target}.yaml (image tags, aks.clusterName, ...)",
        f"./dev bluegreen-check --blue {source} --green {target}",
        *_register_redirects(release),
        f"pulumi stack init {new_stack}{provider}",
        f"pulumi preview -s {target} --policy-pack policy",
        f"pulumi up -s {target}",
        f"smoke-test {target} on its own host names, then move traffic from {source} to {target}",
    ]
    if release.source_owns_layer:
        # The owner keeps its protected shared layer (and the stack, whose output the colours read).
        steps.append(f"pulumi destroy -s {source} --exclude-protected")
    else:
        steps += [f"pulumi destroy -s {source}", f"pulumi stack rm {source}"]
    return steps


def _register_redirects(release: Release) -> list[str]:
    """The owner's `pulumi up` that registers the new colour's redirect URIs before it deploys."""
    if release.owner_redirects is None:
        return []
    owner, apps = release.owner_redirects
    return [
        f"pulumi up -s {owner}   # registers {release.target}'s redirect URIs on {', '.join(apps)}"
        f" while {release.source} still serves"
    ]


def first_release_hint(stack: str) -> str:
    """The demo's closing line: where a blue-green release of the stack starts."""
    start = f"./dev duplicate --from {stack} --color green"
    return f"next: a blue-green release of {stack} starts with {start} ({RUNBOOK})"
