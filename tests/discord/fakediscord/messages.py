"""Message bodies: validation as Discord does it, building, editing and posting messages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tests.discord.fakediscord.events import Events
from tests.discord.fakediscord.state import EPHEMERAL, Attachment, Message, Store, now_iso
from tests.discord.fakediscord.web import ApiError, Body, UploadedFile, invalid

SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS, COMPONENTS_V2 = 1 << 2, 1 << 12, 1 << 15
SENDABLE_FLAGS = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | COMPONENTS_V2
MENTION = re.compile(r"<@!?(\d+)>")


def walk_components(components: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every component, nested ones included (action rows, containers, sections)."""
    for component in components:
        yield component
        yield from walk_components(component.get("components", []))
        if isinstance(component.get("accessory"), dict):
            yield component["accessory"]


def validate(payload: dict[str, Any], *, has_files: bool, creating: bool) -> None:
    """Refuse what Discord refuses: too long, too many, empty, bad components."""
    content = payload.get("content")
    if content is not None and (not isinstance(content, str) or len(content) > 2000):
        raise invalid("content: Must be 2000 or fewer in length.")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        raise invalid("embeds: Must be 10 or fewer in length.")
    _validate_components(payload.get("components") or [], int(payload.get("flags") or 0))
    empty = not (content or embeds or payload.get("components") or has_files
                 or payload.get("sticker_ids") or payload.get("poll"))
    if creating and empty:
        raise ApiError(400, 50006, "Cannot send an empty message")


def _validate_components(components: list[dict[str, Any]], flags: int) -> None:
    """Check rows, button counts, custom_id and label lengths, duplicate custom ids."""
    if not flags & COMPONENTS_V2:
        if len(components) > 5:
            raise invalid("components: Must be 5 or fewer in length.")
        for row in components:
            if row.get("type") != 1 or len(row.get("components", [])) > 5:
                raise invalid("components: expected action rows of at most 5 items")
    seen: set[str] = set()
    for component in walk_components(components):
        custom_id = component.get("custom_id")
        if component.get("type") == 2 and component.get("style") not in (5, 6) and not custom_id:
            raise invalid("components: a button needs a custom_id")
        if custom_id is not None:
            if len(custom_id) > 100 or custom_id in seen:
                raise invalid("components: custom_id too long or duplicated")
            seen.add(custom_id)
        if len(component.get("label") or "") > 80:
            raise invalid("components: label must be 80 or fewer in length")


class Messages:
    """Creates, edits and posts messages, with the events that go with them."""

    def __init__(self, store: Store, events: Events) -> None:
        self.store = store
        self.events = events

    def build(self, channel_id: int, author_id: int, body: Body, *,
              allow_ephemeral: bool = False) -> Message:
        """A new message from a request body, validated but not stored yet."""
        payload = body.payload if isinstance(body.payload, dict) else {}
        validate(payload, has_files=bool(body.files), creating=True)
        allowed = SENDABLE_FLAGS | (EPHEMERAL if allow_ephemeral else 0)
        content = payload.get("content") or ""
        return Message(
            id=self.store.ids.next(), channel_id=channel_id, author_id=author_id,
            content=content, embeds=list(payload.get("embeds") or []),
            components=list(payload.get("components") or []),
            attachments=self._attachments(payload, body.files),
            flags=int(payload.get("flags") or 0) & allowed, nonce=payload.get("nonce"),
            mentions=self._mentions(content), allowed_mentions=payload.get("allowed_mentions"))

    def _mentions(self, content: str) -> list[int]:
        """The known users mentioned in the content."""
        ids = [int(m) for m in MENTION.findall(content)]
        return [i for i in dict.fromkeys(ids) if i in self.store.users]

    def _attachments(self, payload: dict[str, Any], files: list[UploadedFile]) -> list[Attachment]:
        """Attachments for the uploaded files, named as the payload's `attachments` says."""
        described = {str(a.get("id")): a for a in payload.get("attachments") or []
                     if isinstance(a, dict)}
        result = []
        for upload in files:
            meta = described.get(str(upload.index), {})
            result.append(Attachment(id=self.store.ids.next(),
                                     filename=meta.get("filename") or upload.filename,
                                     data=upload.data, content_type=upload.content_type,
                                     description=meta.get("description")))
        return result

    def edit(self, message: Message, body: Body) -> None:
        """Apply a PATCH body to a message: only the fields present change."""
        payload = body.payload if isinstance(body.payload, dict) else {}
        validate(payload, has_files=bool(body.files), creating=False)
        for key in ("content", "embeds", "components"):
            if key in payload:
                setattr(message, key, payload[key] if payload[key] is not None else
                        ("" if key == "content" else []))
        message.mentions = self._mentions(message.content)
        if "attachments" in payload or body.files:
            keep = {str(a.get("id")) for a in payload.get("attachments") or []}
            kept = [a for a in message.attachments if str(a.id) in keep]
            message.attachments = kept + self._attachments(payload, body.files)
        if "flags" in payload and payload["flags"] is not None:
            message.flags = (message.flags & ~SUPPRESS_EMBEDS) | (int(payload["flags"]) & SUPPRESS_EMBEDS)
        message.edited_timestamp = now_iso()

    async def post(self, message: Message) -> Message:
        """Store a message and dispatch MESSAGE_CREATE (not for ephemeral ones)."""
        self.store.messages[message.id] = message
        channel = self.store.channels[message.channel_id]
        if not message.ephemeral:
            channel.last_message_id = message.id
            channel.message_count += 1
        await self.events.message("MESSAGE_CREATE", message)
        return message

    async def updated(self, message: Message) -> None:
        """Dispatch MESSAGE_UPDATE for an edited message."""
        await self.events.message("MESSAGE_UPDATE", message)

    def find_nonce(self, channel_id: int, author_id: int, nonce: object) -> Message | None:
        """A recent message by the same author with the same nonce (for enforce_nonce)."""
        for message in reversed(self.store.messages_of(channel_id)[-50:]):
            if message.author_id == author_id and message.nonce == nonce:
                return message
        return None
