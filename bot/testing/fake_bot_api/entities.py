"""Entities: UTF-16 lengths, command entities and Telegram's HTML parse mode.

Deliberate simplifications: MarkdownV2/Markdown text is kept verbatim (only HTML is
parsed into entities); bot messages get no auto-detected entities (urls, mentions).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


def utf16_len(text: str) -> int:
    """Telegram measures entity offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str | None) -> list[dict[str, Any]]:
    match = _COMMAND_RE.match(text or "")
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}]


class _EntityParseError(Exception):
    pass


_HTML_ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
    "del": "strikethrough", "code": "code", "pre": "pre", "a": "text_link",
    "tg-spoiler": "spoiler", "span": "spoiler", "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class _TelegramHTML(HTMLParser):
    """Telegram's HTML parse mode: strips tags into entities, rejects unknown tags."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.parts: list[str] = []
        self.position = 0  # UTF-16 units
        self.stack: list[tuple[str, dict[str, Any] | None]] = []
        self.entities: list[dict[str, Any]] = []

    def _byte_offset(self) -> int:
        line, column = self.getpos()
        lines = self.source.split("\n")
        index = sum(len(item) + 1 for item in lines[: line - 1]) + column
        return len(self.source[:index].encode())

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.position += utf16_len(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        kind = _HTML_ENTITY_TYPES.get(tag)
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            kind = None
        if kind is None:
            raise _EntityParseError(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        entity: dict[str, Any] | None = {"type": kind, "offset": self.position}
        if tag == "a":
            href = attributes.get("href") or ""
            if user_id := re.fullmatch(r"tg://user\?id=(\d+)", href):
                entity = {"type": "text_mention", "offset": self.position,
                          "user": {"id": int(user_id.group(1)), "is_bot": False, "first_name": ""}}
            else:
                entity["url"] = href
        elif tag == "code" and self.stack and self.stack[-1][0] == "pre":
            pre = self.stack[-1][1]
            language = (attributes.get("class") or "").removeprefix("language-")
            if pre is not None and language:
                pre["language"] = language
            entity = None  # <pre><code> is a single pre entity
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attributes.get("emoji-id") or ""
        elif tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        if entity is not None:
            self.entities.append(entity)
        self.stack.append((tag, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise _EntityParseError(f"Unexpected end tag at byte offset {self._byte_offset()}")
        if self.stack[-1][0] != tag:  # Telegram's wording for crossed tags (<b><i></b></i>)
            raise _EntityParseError(
                f'Unmatched end tag at byte offset {self._byte_offset()}, '
                f'expected "</{self.stack[-1][0]}>", found "</{tag}>"'
            )
        _, entity = self.stack.pop()
        if entity is not None:
            entity["length"] = self.position - entity["offset"]

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        self.feed(self.source)
        self.close()
        if self.stack:
            raise _EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"'
            )
        return "".join(self.parts), [e for e in self.entities if e.get("length")]
