"""Plain text from the core to Matrix ``formatted_body`` HTML, and Matrix HTML back to text."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import unquote

_URL = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]»”]")
_PILL = re.compile(r"<a\s[^>]*href=\"https://matrix\.to/#/(@[^\"?]+)[^\"]*\"[^>]*>.*?</a>",
                   re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_REPLY = re.compile(r"<mx-reply>.*?</mx-reply>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p>|</li>", re.IGNORECASE)

# Bytes of encoded ``body`` plus ``formatted_body`` one notice may carry. An event is at
# most 65,536 bytes and encryption makes it about 1.4 times larger, so this leaves room.
PART_BUDGET = 30_000
_NEWLINE_COST = len("\\n") + len("<br/>")  # one line break, in the body's JSON and the HTML


def to_html(text: str) -> str:
    """The HTML form of a core text: escaped, links clickable, line breaks kept."""
    out = []
    for line in text.split("\n"):
        out.append(_link(line))
    return "<br/>".join(out)


def _link(line: str) -> str:
    """Escape one line, turning URLs into links."""
    parts, last = [], 0
    for match in _URL.finditer(line):
        parts.append(html.escape(line[last:match.start()], quote=False))
        url = match.group(0)
        parts.append(f'<a href="{html.escape(url)}">{html.escape(url, quote=False)}</a>')
        last = match.end()
    parts.append(html.escape(line[last:], quote=False))
    return "".join(parts)


def split_notice(text: str, budget: int = PART_BUDGET) -> list[str]:
    """The text cut into parts that each fit ``budget``, at line breaks where possible.

    A line break where the text is cut is dropped (each part is a notice of its own); a
    line too long for one part is cut inside, at its last space in the part when there is
    one in the part's second half, otherwise hard (between characters, never inside one).
    """
    parts: list[str] = []
    lines: list[str] = []
    used = 0
    for line in text.split("\n"):
        cost = _cost(line)
        if lines and used + _NEWLINE_COST + cost > budget:
            parts.append("\n".join(lines))
            lines, used = [], 0
        while cost > budget:
            head = _fitting(line, budget)
            parts.append(head)
            line = line[len(head):]
            cost = _cost(line)
        used += (_NEWLINE_COST if lines else 0) + cost
        lines.append(line)
    parts.append("\n".join(lines))
    return [part for part in parts if part] or [text]


def _cost(line: str) -> int:
    """Bytes one line takes in a notice: JSON-escaped, as text and as HTML (ASCII-only JSON)."""
    return len(json.dumps(line)) + len(json.dumps(_link(line))) - 4


def _fitting(line: str, budget: int) -> str:
    """The longest start of ``line`` that fits ``budget``, ending after a space if one is near."""
    low, high = 1, min(len(line), budget)  # each character costs at least one byte
    while low < high:
        middle = (low + high + 1) // 2
        if _cost(line[:middle]) <= budget:
            low = middle
        else:
            high = middle - 1
    space = line.rfind(" ", low // 2, low)
    return line[:space + 1] if space >= 0 else line[:low]


def html_to_text(formatted: str) -> str:
    """The text of a ``formatted_body``, with user pills written as their Matrix ids."""
    text = _REPLY.sub("", formatted)
    text = _PILL.sub(lambda m: unquote(m.group(1)), text)
    text = _BREAK.sub("\n", text)
    return html.unescape(_TAG.sub("", text))


def strip_reply_fallback(body: str) -> str:
    """Drop the ``> <@user> quoted`` lines older clients put before a reply's own text."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    i = 0
    while i < len(lines) and lines[i].startswith(">"):
        i += 1
    return "\n".join(lines[i:]).lstrip("\n")
