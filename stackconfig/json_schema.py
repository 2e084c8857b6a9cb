"""The JSON Schema of a ``Pulumi.<stack>.yaml`` file, generated from the pydantic models in ``schema.py``.

Editors with a YAML language server validate the stack file as it is typed when it starts with
``# yaml-language-server: $schema=<path to schema/certless-stack.schema.json>``. The file is generated
(``./dev config-schema --write``) and a test keeps the committed copy current.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema

from stackconfig.schema import NS, StackSettings

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema" / "certless-stack.schema.json"
SCHEMA_ID = "https://github.com/certless/certless/blob/main/schema/certless-stack.schema.json"


class _Untitled(GenerateJsonSchema):
    """Drops pydantic's generated titles ("Clusterresourcegroup"): the property names say it better."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _strip_titles(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_titles(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(node, list):
        return [_strip_titles(v) for v in node]
    return node


def stack_file_schema() -> dict[str, Any]:
    """The whole stack file: ``config`` holds certless's keys next to other providers' keys."""
    config = _strip_titles(StackSettings.model_json_schema(by_alias=True, schema_generator=_Untitled))
    defs = config.pop("$defs", {})
    ours = [k for k in config["properties"] if k.startswith(f"{NS}:")]
    # Other namespaces (azure-native:, azuread:, kubernetes:, ...) are theirs; an unknown certless: key
    # is a typo the program refuses, so the editor flags it too.
    config["additionalProperties"] = True
    config["patternProperties"] = {
        f"^{NS}:(?!({'|'.join(re.escape(k.partition(':')[2]) for k in ours)})$)": {
            "not": {},
            "description": "not a certless key (see docs/configuration.md)",
        }
    }
    config["description"] = "Stack configuration: namespaced key -> value (docs/configuration.md)."
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "certless Pulumi stack configuration (Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "config": config,
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "environment": {},
        },
        "$defs": defs,
    }


def render() -> str:
    return json.dumps(stack_file_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
