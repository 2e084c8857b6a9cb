"""A YAML reader for stack files that refuses what would silently change or blow up the configuration.

- a duplicated key (YAML keeps the last one, so a workload would vanish) is an error naming the key;
- aliases are refused: a few hundred bytes of nested aliases expand to gigabytes ("billion laughs");
- explicit tags (``!!binary``, ``!!set``, ``!python/...``) are refused: config values are plain data;
- dates stay text: ``tenantId: 2020-01-01`` is the string the user typed, checked like any other value;
- plain scalars resolve as the Pulumi CLI's yaml.v3 resolves them (YAML 1.2): ``yes`` and ``on`` are
  text, ``1e3`` is a number, ``1:20`` is text;
- a mapping key must be text, as the CLI requires (``workspace.SimplifyMarshalledValue``).
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

# Tags a plain config document may carry; anything else (binary, set, omap, pairs, custom) is refused.
_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")
)
_STR, _INT, _FLOAT, _BOOL, _NULL = (f"tag:yaml.org,2002:{n}" for n in ("str", "int", "float", "bool", "null"))

# gopkg.in/yaml.v3's resolver (resolve.go), which the Pulumi CLI reads Pulumi.yaml and stack files with.
_BY_SPELLING: dict[str, tuple[str, Any]] = {
    **{w: (_BOOL, True) for w in ("true", "True", "TRUE")},
    **{w: (_BOOL, False) for w in ("false", "False", "FALSE")},
    **{w: (_NULL, None) for w in ("", "~", "null", "Null", "NULL")},
    **{w: (_FLOAT, math.nan) for w in (".nan", ".NaN", ".NAN")},
    **{w: (_FLOAT, math.inf) for w in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{w: (_FLOAT, -math.inf) for w in ("-.inf", "-.Inf", "-.INF")},
}
_HINTS = frozenset("+-0123456789yYnNtTfFoO~.")
_GO_INT = re.compile(r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DATE_START = re.compile(r"[0-9]{4}-")


def _go_int(text: str) -> int | None:
    """strconv.ParseInt (or ParseUint) with base 0: sign, then 0x, 0o, 0b, a leading-0 octal or decimal."""
    match = _GO_INT.fullmatch(text)
    if match is None:
        return None
    sign, body = match.groups()
    prefix = body[:2].lower()
    if prefix in ("0x", "0o", "0b"):
        number = int(body[2:], {"0x": 16, "0o": 8, "0b": 2}[prefix])
    else:
        number = int(body, 8) if body.startswith("0") else int(body)
    number = -number if sign == "-" else number
    return number if -(2**63) <= number < 2**64 else None


def go_scalar(text: str) -> tuple[str, Any]:
    """The tag and value yaml.v3 gives a plain scalar decoded into an interface{} (timestamps stay text)."""
    if text in _BY_SPELLING:
        return _BY_SPELLING[text]
    if text[:1] not in _HINTS or text[0] in "yYnNtTfFoO~":
        return _STR, text
    if text[0] == ".":
        return (_FLOAT, float(text)) if _GO_FLOAT.fullmatch(text) else (_STR, text)
    if _DATE_START.match(text):
        return _STR, text  # a timestamp, which yaml.v3 hands to an interface{} as the text
    plain = text.replace("_", "")
    number = _go_int(plain)
    if number is not None:
        return _INT, number
    if _GO_FLOAT.fullmatch(plain):
        return _FLOAT, float(plain)
    return _STR, text


class _Resolver(Resolver):
    """Plain scalars resolve as yaml.v3 resolves them (YAML 1.2 core), not by PyYAML's YAML 1.1 rules."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is ScalarNode and implicit[0]:
            return go_scalar(value)[0]
        return str(super().resolve(kind, value, implicit))


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
            if not isinstance(key, str):
                shown = str(key_node.value)[:40] if isinstance(key_node, ScalarNode) else "?"
                raise ConstructorError(
                    None,
                    None,
                    f"mapping key {shown!r} is read as {type(key).__name__.replace('NoneType', 'null')}, not"
                    " text; the Pulumi CLI accepts only text keys (quote it)",
                    key_node.start_mark,
                )
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


def _scalar_as(tag: str) -> Any:
    def construct(loader: SafeConstructor, node: Node) -> Any:
        text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
        found, value = go_scalar(text)
        if found == tag or (tag == _FLOAT and found == _INT):
            return float(value) if tag == _FLOAT else value
        short = tag.replace("tag:yaml.org,2002:", "!!")
        raise ConstructorError(None, None, f"cannot decode {text[:40]!r} as a {short}", node.start_mark)

    return construct


for _tag in (_INT, _FLOAT, _BOOL, _NULL):
    _Constructor.add_constructor(_tag, _scalar_as(_tag))


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
