"""JSON as .NET's configuration reader accepts it: ``//`` and ``/* */`` comments, trailing commas.

.NET's JSON configuration provider parses with ``JsonCommentHandling.Skip`` and ``AllowTrailingCommas``,
so an ``appsettings.json`` a .NET app reads may hold both. JSON5 libraries accept far more (single
quotes, bare keys, hex numbers) and would let a file work here that breaks the .NET app, so this
module only blanks out what .NET skips and hands the rest to the standard ``json`` module. Comments
become spaces (line breaks kept), so error positions still point into the file as written.
"""

from __future__ import annotations

import json
from typing import Any

# After one of these, a comma is a separator between two values (or members), so a comma followed by
# a closing bracket is "trailing". After '[' '{' ',' ':' it is not (.NET rejects "[,]" and "[1,,]").
_OPENERS = frozenset("[{,:")


def strip_comments_and_trailing_commas(text: str) -> str:
    """``text`` with comments blanked and trailing commas removed; strings untouched."""
    out = list(text)
    i, n = 0, len(text)
    after_value = False  # the last character outside strings/comments/whitespace ended a value
    pending_comma: int | None = None  # index of a comma that may turn out to be trailing
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            after_value, pending_comma = True, None
            continue
        if ch == "/" and i + 1 < n and text[i + 1] in "/*":
            if text[i + 1] == "/":
                end = text.find("\n", i)
                end = n if end == -1 else end
            else:
                close = text.find("*/", i + 2)
                if close == -1:
                    # Unterminated: leave it for json to report at its position.
                    return "".join(out)
                end = close + 2
            for k in range(i, end):
                if out[k] not in "\r\n":
                    out[k] = " "
            i = end
            continue
        if ch in " \t\r\n":
            i += 1
            continue
        if ch in "]}" and pending_comma is not None:
            out[pending_comma] = " "
        pending_comma = i if ch == "," and after_value else None
        after_value = ch not in _OPENERS
        i += 1
    return "".join(out)


class DuplicateKeyError(ValueError):
    """.NET refuses a file that gives one setting (its full, case-insensitive path) two values."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _merge_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Keys that differ only in case are one key, as in .NET: two objects under it merge; two values
    for the same setting are an error (the standard json module would silently keep the last)."""
    merged: dict[str, tuple[str, Any]] = {}
    for key, value in pairs:
        lowered = key.lower()
        if lowered not in merged:
            merged[lowered] = (key, value)
            continue
        first_key, first = merged[lowered]
        if not (isinstance(first, dict) and isinstance(value, dict) and first and value):
            raise DuplicateKeyError(key)
        merged[lowered] = (first_key, _merge_keys([*first.items(), *value.items()]))
    return dict(merged.values())


def loads(text: str) -> Any:
    """Parse ``text`` as .NET's JSON configuration reader would; raises ``json.JSONDecodeError`` or
    ``DuplicateKeyError``."""
    return json.loads(strip_comments_and_trailing_commas(text), object_pairs_hook=_merge_keys)
