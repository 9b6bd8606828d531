"""Texts that must fit a length: cut at a sensible boundary, with an ellipsis.

Platform limits (Telegram: 4,096 for a message, 1,024 for a caption, 200 for a callback answer) and
our own stored limits (a moderator's reason) share one rule: keep whole lines when the cut can stay
in the last half of the text, else whole sentences, else whole words, else cut anywhere; never
inside a character (Python strings hold code points, so a surrogate pair is never split), never
inside an HTML tag or entity when the text is HTML, whose open tags are closed after the ellipsis.

Lengths are counted in UTF-16 code units (``utf16_len``). Telegram itself counts a message's length
in Unicode code points after entity parsing (tdlib's ``utf8_length`` in ``MessageContent.cpp``,
"Message is too long"), while entity offsets are UTF-16; a text that fits in UTF-16 units always
fits in code points too, so counting UTF-16 is safe under either reading, at the cost of emoji-heavy
texts being cut a little early.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"
# A reason typed by a moderator or a member (warn, mute, report, award) is stored at most this long.
REASON_MAX = 400  # the moderation tables keep 400 characters

_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|[。！？；]")
_SPACE = re.compile(r"\s")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")
_TRAILING_JOINERS = "\u200d\ufe0e\ufe0f"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: characters outside the Basic Multilingual Plane count twice."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _prefix_within(text: str, budget: int) -> int:
    """The number of code points of ``text`` whose UTF-16 length is at most ``budget``."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            return index
    return len(text)


def _boundary(text: str, end: int) -> int:
    """Where to cut ``text[:end]``: after a line, a sentence or a word in its second half, else at ``end``."""
    if end >= len(text):
        return end
    floor = end // 2
    line = text.rfind("\n", floor, end)
    if line > floor:
        return line
    sentences = [match.end() for match in _SENTENCE_END.finditer(text, floor, end)]
    if sentences:
        return sentences[-1]
    if _SPACE.match(text, end):  # the cut falls just before a space: the word is whole
        return end
    spaces = [match.start() for match in _SPACE.finditer(text, floor, end)]
    if spaces:
        return spaces[-1]
    return end


def _html_safe(text: str, cut: int) -> int:
    """Move ``cut`` back out of a tag (``<b``) or an entity (``&amp``) it would split."""
    opening = text.rfind("<", 0, cut)
    if opening > text.rfind(">", 0, cut):
        cut = opening
    ampersand = text.rfind("&", 0, cut)
    if ampersand != -1 and ";" not in text[ampersand:cut] and re.match(r"&#?\w*$", text[ampersand:cut]):
        cut = ampersand
    return cut


def _close_tags(html: str) -> str:
    """Closing tags for the tags still open at the end of ``html``, innermost first."""
    stack: list[str] = []
    for match in _TAG.finditer(html):
        closing, name = match.group(1), match.group(2).lower()
        if closing:
            if name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name):]
        elif not match.group(0).endswith("/>"):
            stack.append(name)
    return "".join(f"</{name}>" for name in reversed(stack))


def fit(text: str, limit: int, *, html: bool = False) -> str:
    """``text`` if it fits ``limit`` UTF-16 units, else its start cut at a sensible boundary plus "…".

    With ``html`` the cut never splits a tag or an entity and the tags left open are closed (the
    markup counts towards the length too, which only makes the result shorter than necessary)."""
    if utf16_len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:limit]
    budget = limit - len(ELLIPSIS)
    for _ in range(8):  # closing tags take room: shrink until everything fits
        end = _prefix_within(text, budget)
        cut = _boundary(text, end)
        if html:
            cut = _html_safe(text, cut)
        head = text[:cut].rstrip()
        while head and head[-1] in _TRAILING_JOINERS:
            head = head[:-1]
        result = head + ELLIPSIS + (_close_tags(head) if html else "")
        if utf16_len(result) <= limit:
            return result
        budget -= utf16_len(result) - limit
    return ELLIPSIS


def clip_reason(reason: str) -> str:
    """A typed reason, trimmed and short enough to store and to quote in a message."""
    return fit(reason.strip(), REASON_MAX)
