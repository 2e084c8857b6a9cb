"""The cloud-init document that delivers a VM workload's AzureAd settings and runs its command.

A VM has no app settings: the settings reach the app as a systemd ``EnvironmentFile`` written by
cloud-init from the VM's custom data, and a systemd unit runs the app's command with it. Nothing in the
file is secret (client IDs, tenant, instance, source type): the identity token comes from IMDS at run time.
"""

from __future__ import annotations

import base64
import re
import shlex
from collections.abc import Mapping, Sequence

import yaml

CUSTOM_DATA_LIMIT = 65_535
"""Azure's limit on custom data, in bytes of the decoded document (azure-docs ``custom-data``)."""

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class CloudInitError(ValueError):
    """The document cannot be rendered as asked (a bad name or value, or too large for custom data)."""


def env_path(unit: str) -> str:
    return f"/etc/certless/{unit}.env"


def unit_path(unit: str) -> str:
    return f"/etc/systemd/system/{unit}.service"


def _quote(value: str) -> str:
    # systemd's EnvironmentFile grammar: a double-quoted value keeps spaces; \ and " are escaped.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def environment_file(env: Sequence[tuple[str, str]]) -> str:
    lines = []
    for name, value in env:
        if not ENV_NAME.fullmatch(name):
            raise CloudInitError(f"environment name {name[:80]!r}; expected letters, digits and '_'")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise CloudInitError(f"environment value of {name}: has a control character; expected one line")
        lines.append(f"{name}={_quote(value)}")
    return "\n".join(lines) + "\n"


def systemd_unit(unit: str, command: str, user: str, description: str) -> str:
    return "\n".join(
        [
            "[Unit]",
            f"Description={description}",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            f"EnvironmentFile={env_path(unit)}",
            f"ExecStart={command}",
            f"User={user}",
            "Restart=on-failure",
            "RestartSec=5",
            # IMDS answers only on 169.254.169.254; nothing else about the host is needed by the runtime.
            "NoNewPrivileges=true",
            "ProtectSystem=full",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
            "",
        ]
    )


def document(unit: str, command: str, user: str, env: Sequence[tuple[str, str]], description: str) -> str:
    """The ``#cloud-config`` text: a system user, the environment file, the unit, and its start."""
    body: Mapping[str, object] = {
        "users": ["default", {"name": user, "system": True, "shell": "/usr/sbin/nologin"}],
        # write_files runs before users are created, so the files stay root's; systemd reads the
        # environment file as root before it drops to the service user.
        "write_files": [
            {
                "path": env_path(unit),
                "owner": "root:root",
                "permissions": "0640",
                "content": environment_file(env),
            },
            {
                "path": unit_path(unit),
                "owner": "root:root",
                "permissions": "0644",
                "content": systemd_unit(unit, command, user, description),
            },
        ],
        "runcmd": [
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "--now", f"{unit}.service"],
        ],
    }
    text = "#cloud-config\n" + yaml.safe_dump(dict(body), sort_keys=False, width=4096)
    size = len(text.encode())
    if size > CUSTOM_DATA_LIMIT:
        raise CloudInitError(
            f"cloud-init custom data is {size} bytes; expected at most {CUSTOM_DATA_LIMIT} (Azure's limit)"
        )
    return text


def custom_data(text: str) -> str:
    """Custom data as the API takes it: base64 of the document."""
    return base64.b64encode(text.encode()).decode()


def read_environment(text: str) -> dict[str, str]:
    """The environment a unit of this document gets: its ``EnvironmentFile``, read as systemd reads it."""
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise CloudInitError(f"cloud-init document is not YAML: {str(err)[:80]}") from None
    files = body.get("write_files") if isinstance(body, dict) else None
    for item in files or []:
        if isinstance(item, dict) and str(item.get("path", "")).startswith("/etc/certless/"):
            env: dict[str, str] = {}
            for line in str(item.get("content", "")).splitlines():
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                # One KEY="value" per line; shlex undoes the double quotes and the \\ and \" escapes.
                words = shlex.split(line, posix=True)
                if len(words) != 1 or "=" not in words[0]:
                    raise CloudInitError(f'environment file line {line[:40]!r}: expected NAME="value"')
                (assignment,) = words
                name, _, value = assignment.partition("=")
                env[name] = value
            return env
    raise CloudInitError("cloud-init document has no /etc/certless/*.env file")


def read_custom_data(encoded: str) -> str:
    return base64.b64decode(encoded, validate=True).decode()
