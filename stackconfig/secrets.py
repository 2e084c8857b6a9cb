"""The literal-secret detector of the stack config: the policy pack's own (``policy/rules/secrets.py``).

It lives in the pack because the pack must load alone, as the Pulumi CLI loads it (from ``policy/`` with
its own requirements); config validation imports it from there, so both judge a setting the same way.
"""

from policy.rules.secrets import KEY_VAULT_ADVICE, normalized_setting_name, secret_reason, token_kind

__all__ = ["KEY_VAULT_ADVICE", "normalized_setting_name", "secret_reason", "token_kind"]
