"""The new colour's sign-in hosts, registered on the owner's app by ``duplicate``.

A colour's web apps have host names of their own (``<site>-green.azurewebsites.net``), while the app
registration, and so its redirect URIs, belongs to the owner of the shared identity layer. Entra refuses a
sign-in sent to an unlisted URI (AADSTS50011), and a colour's App Service Authentication does not deploy
without its callback. ``duplicate`` therefore adds the missing URIs to the owner's
``certless:apps.<key>.web.redirectUris`` (comments kept); the runbook's ``pulumi up`` of the owner
registers them while the old colour still serves.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from certless_ops.bluegreen import ownership
from certless_ops.bluegreen.stackfile import StackFile
from certless_ops.errors import UserError


@dataclass(frozen=True)
class OwnerUpdate:
    """The owner's stack file with the new colour's redirect URIs added."""

    stack: str
    path: Path
    text: str
    added: tuple[str, ...]
    apps: tuple[str, ...]


def missing_uris(
    project_dir: Path, target: str, target_text: str, owner_outputs: Mapping[str, Any]
) -> dict[str, list[str]]:
    """App key -> the new colour's sign-in URIs its owner's app does not list yet, in order.

    Empty when the colour's settings do not load: planning it next reports that problem in full.
    """
    from certless_ops.plan.config import load_stack_config
    from components.referenced_identity_layer import SHARED_OUTPUT, SIGN_IN
    from stackconfig import ConfigError, load
    from stackconfig.web import colour_sign_in_uris

    with tempfile.TemporaryDirectory(prefix="certless-duplicate-") as tmp:
        path = Path(tmp) / f"Pulumi.{target}.yaml"
        path.write_text(target_text, encoding="utf-8")
        try:
            cfg = load_stack_config(project_dir, target, path)
            config = load(cfg.wire, cfg.secret_keys, target)
        except (ConfigError, UserError):
            return {}
    apps = (owner_outputs.get(SHARED_OUTPUT) or {}).get("apps") or {}
    missing: dict[str, list[str]] = {}
    for w in config.workloads.values():
        site = w.app_service or w.function_app
        record = (apps.get(w.app) or {}).get(SIGN_IN) if isinstance(apps.get(w.app), Mapping) else None
        if site is None or not isinstance(record, Mapping):
            continue
        listed = record.get("redirectUris") or []
        for uri in colour_sign_in_uris(w, config.cloud.site_host(site.name), record):
            if uri not in listed and uri not in missing.get(w.app, []):
                missing.setdefault(w.app, []).append(uri)
    return missing


def add_to_owner(owner: StackFile, missing: Mapping[str, list[str]], project: str | None) -> OwnerUpdate:
    """The owner's file with ``missing`` appended to each app's ``web.redirectUris``."""
    apps = ownership.get(owner.config, ownership.APPS, project)
    added: list[str] = []
    for key, uris in missing.items():
        app = apps.get(key) if isinstance(apps, CommentedMap) else None
        web = app.get("web") if isinstance(app, CommentedMap) else None
        if not isinstance(web, CommentedMap):
            raise UserError(
                f"the new colour signs users in with app {key!r}, but {owner.path.name} declares no"
                f" certless:apps.{key}.web to add its redirect URIs {', '.join(uris)} to; expected the"
                " owner to declare the app's web platform"
            )
        listed = web.get("redirectUris")
        if not isinstance(listed, CommentedSeq):
            listed = CommentedSeq(listed if isinstance(listed, list) else [])
            web["redirectUris"] = listed
        for uri in uris:
            if uri not in listed:
                listed.append(uri)
                added.append(uri)
    return OwnerUpdate(owner.stack, owner.path, owner.dumps(), tuple(added), tuple(missing))
