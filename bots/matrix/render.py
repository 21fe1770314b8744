"""Plain text from the core to Matrix ``formatted_body`` HTML, and Matrix HTML back to text."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

_URL = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]»”]")
_PILL = re.compile(r"<a\s[^>]*href=\"https://matrix\.to/#/(@[^\"?]+)[^\"]*\"[^>]*>.*?</a>",
                   re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_REPLY = re.compile(r"<mx-reply>.*?</mx-reply>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p>|</li>", re.IGNORECASE)


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
