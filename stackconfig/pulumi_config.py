"""The raw configuration of the running stack, as the Pulumi engine (or the mock engine) hands it over."""

from __future__ import annotations

from typing import Any

from pulumi.runtime import config as runtime_config


def read_pulumi_config() -> tuple[dict[str, Any], set[str]]:
    """All config keys with values, and the keys marked secret.

    The engine passes config in PULUMI_CONFIG; mocks and tests set it with ``set_all_config``. Both
    are read so unknown-key and secret checks see every key, not only the ones we ask for.
    """
    raw: dict[str, Any] = dict(runtime_config.get_config_env())
    raw.update(runtime_config.CONFIG.get())
    secret = set(runtime_config.get_config_secret_keys_env())
    secret.update(k for k in raw if runtime_config.is_config_secret(k))
    return raw, secret
