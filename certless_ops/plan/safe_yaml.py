"""A YAML reader for stack files that refuses what would silently change or blow up the configuration.

- a duplicated key (YAML keeps the last one, so a workload would vanish) is an error naming the key;
- aliases are refused: a few hundred bytes of nested aliases expand to gigabytes ("billion laughs");
- explicit tags (``!!binary``, ``!!set``, ``!python/...``) are refused: config values are plain data;
- dates stay text: ``tenantId: 2020-01-01`` is the string the user typed, checked like any other value.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
# Tags a plain config document may carry; anything else (binary, set, omap, pairs, custom) is refused.
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")
)


class _Resolver(Resolver):
    """The safe resolver without the implicit timestamp rule."""


_Resolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in rules if tag != _TIMESTAMP]
    for first, rules in Resolver.yaml_implicit_resolvers.items()
}


class _Constructor(SafeConstructor):
    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node.tag not in _PLAIN_TAGS:
            raise ConstructorError(
                None,
                None,
                f"tag {node.tag.replace('tag:yaml.org,2002:', '!!')[:40]} is not accepted",
                node.start_mark,
            )
        return super().construct_object(node, deep)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, dict | list):
                raise ConstructorError(None, None, "a mapping key must be plain text", key_node.start_mark)
            if key in seen:
                shown = key if isinstance(key_node, ScalarNode) else "?"
                raise ConstructorError(
                    None,
                    None,
                    f"mapping key {str(shown)[:80]!r} at line {key_node.start_mark.line + 1}"
                    " is already defined"
                    f" at line {seen[key]}; expected each key once",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


class StrictLoader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    _Constructor,
    _Resolver,
):
    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Constructor.__init__(self)
        _Resolver.__init__(self)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not accepted; write the value out", event.start_mark
            )
        return super().compose_node(parent, index)


def _check_tags(node: Node, path: str) -> None:
    """Refuse a tag before anything is built, naming the key that carries it (not only its line)."""
    if node.tag not in _PLAIN_TAGS:
        where = f" (on {path})" if path else ""
        raise ConstructorError(
            None,
            None,
            f"tag {node.tag.replace('tag:yaml.org,2002:', '!!')[:40]} is not accepted{where}",
            node.start_mark,
        )
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            name = str(key_node.value)[:80] if isinstance(key_node, ScalarNode) else "?"
            # The stack file's keys live under `config:`; the error names them as the program does.
            _check_tags(key_node, path)
            _check_tags(value_node, name if path in ("", "config") else f"{path}.{name}")
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _check_tags(item, f"{path}[{index}]")


def load(text: str) -> Any:
    """Parse one YAML document strictly; raises yaml.YAMLError with a line mark on anything refused."""
    loader = StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_tags(node, "")
        return loader.construct_document(node)
    finally:
        loader.dispose()
