"""Interactions: records, the callback route, followup/original webhooks and test results.

An interaction must be acknowledged once within `window` seconds (3 on Discord): a second
callback gets 400/40060, a late one 404/10062 and counts as unanswered. After a deferral
(callback type 5) the first followup fills the loading message instead of adding one, so
it keeps the deferral's ephemeral state, as on Discord.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.discord.fakediscord.messages import walk_components
from tests.discord.fakediscord.state import EPHEMERAL, LOADING, Message, Store
from tests.discord.fakediscord.web import (
    ApiError,
    Body,
    invalid,
    json_response,
    no_content,
    payload_dict,
    read_body,
    snowflake,
    unknown,
)

if TYPE_CHECKING:
    from tests.discord.fakediscord.server import FakeDiscord

PONG, MESSAGE, DEFERRED, DEFERRED_UPDATE, UPDATE, CHOICES, MODAL = 1, 4, 5, 6, 7, 8, 9
ALLOWED_CALLBACKS = {2: {MESSAGE, DEFERRED, MODAL},
                     3: {MESSAGE, DEFERRED, DEFERRED_UPDATE, UPDATE, MODAL},
                     4: {CHOICES},
                     5: {MESSAGE, DEFERRED, DEFERRED_UPDATE, UPDATE}}
Json = dict[str, Any]


@dataclass
class InteractionRecord:
    """One interaction sent to the bot and everything the bot answered to it."""

    id: int
    token: str
    type: int
    user_id: int
    channel_id: int
    payload: Json
    created: float
    source_message_id: int | None = None
    callback_type: int | None = None
    late: bool = False
    original_id: int | None = None
    original_edited: bool = False
    followup_ids: list[int] = field(default_factory=list)
    choices: list[Json] | None = None
    modal: Json | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def update_done(self) -> None:
        """Mark the interaction answered: a deferral needs a followup or an edit too."""
        if self.callback_type is None:
            return
        if self.callback_type != DEFERRED or self.original_edited or self.followup_ids:
            self.done.set()


@dataclass(frozen=True)
class Button:
    """A button as a user sees it."""

    custom_id: str | None
    label: str | None
    style: int
    url: str | None = None
    disabled: bool = False


class InteractionResult:
    """What the bot answered to an interaction; reads the live record."""

    def __init__(self, record: InteractionRecord, store: Store) -> None:
        self.record = record
        self._store = store

    @property
    def callback_type(self) -> int | None:
        """The callback type (4 message, 5 deferred, 6/7 update, 8 choices, 9 modal)."""
        return self.record.callback_type

    @property
    def message(self) -> Message | None:
        """The original response message (for 6/7, the message the component was on)."""
        oid = self.record.original_id
        return self._store.messages.get(oid) if oid is not None else None

    @property
    def followups(self) -> list[Message]:
        """The messages the bot sent as followups (the first may be the filled original)."""
        return [self._store.messages[i] for i in self.record.followup_ids]

    @property
    def ephemeral(self) -> bool:
        """Whether the response is ephemeral (flags 1<<6)."""
        shown = self.message or (self.followups[0] if self.followups else None)
        return bool(shown and shown.ephemeral)

    @property
    def content(self) -> str:
        """The response's content (the original's, else the first followup's)."""
        shown = self.message or (self.followups[0] if self.followups else None)
        return shown.content if shown else ""

    @property
    def embeds(self) -> list[Json]:
        """The response's embeds."""
        return self.message.embeds if self.message else []

    @property
    def components(self) -> list[Json]:
        """The response's components as sent."""
        return self.message.components if self.message else []

    @property
    def buttons(self) -> list[Button]:
        """The response's buttons, in order."""
        return buttons_of(self.message) if self.message else []

    @property
    def choices(self) -> list[Json] | None:
        """Autocomplete choices (callback type 8)."""
        return self.record.choices

    @property
    def modal(self) -> Json | None:
        """The modal the bot opened (callback type 9)."""
        return self.record.modal

    async def wait_followups(self, count: int, within: float = 5.0) -> list[Message]:
        """Wait until the bot has sent `count` followups."""
        async with asyncio.timeout(within):
            while True:
                if len(self.record.followup_ids) >= count:
                    break
                await asyncio.sleep(0.005)
        return self.followups


def buttons_of(message: Message) -> list[Button]:
    """The buttons of a message."""
    return [Button(c.get("custom_id"), c.get("label"), int(c.get("style", 1)), c.get("url"),
                   bool(c.get("disabled", False)))
            for c in walk_components(message.components) if c.get("type") == 2]


class Interactions:
    """Keeps interaction records and serves the callback and webhook routes."""

    def __init__(self, server: FakeDiscord, window: float = 3.0) -> None:
        self.server = server
        self.window = window
        self.records: dict[int, InteractionRecord] = {}
        self.closed = False

    def routes(self) -> list[web.RouteDef]:
        """Callback and webhook routes (authenticated by the token in the path)."""
        hook = "/webhooks/{application_id}/{token}"
        return [web.post("/interactions/{interaction_id}/{token}/callback", self.callback),
                web.post(hook, self.followup),
                web.get(hook + "/messages/{message_id}", self.get_message),
                web.patch(hook + "/messages/{message_id}", self.edit_message),
                web.delete(hook + "/messages/{message_id}", self.delete_message)]

    def new(self, kind: int, user_id: int, channel_id: int, payload: Json,
            source: Message | None = None) -> InteractionRecord:
        """Record a new interaction; `payload` gets its id, token and type."""
        loop = asyncio.get_running_loop()
        record = InteractionRecord(self.server.store.ids.next(), secrets.token_urlsafe(48), kind,
                                   user_id, channel_id, payload, loop.time(),
                                   source.id if source else None)
        payload.update(id=str(record.id), token=record.token, type=kind)
        self.records[record.id] = record
        return record

    def unanswered(self) -> list[InteractionRecord]:
        """Interactions answered late or not at all within the window."""
        now = asyncio.get_running_loop().time()
        return [r for r in self.records.values() if r.late or (
            r.callback_type is None and (self.closed or now - r.created > self.window))]

    def _record(self, request: web.Request) -> InteractionRecord:
        """The interaction named by id and token in the path."""
        record = self.records.get(snowflake(request, "interaction_id"))
        if record is None or record.token != request.match_info["token"]:
            raise unknown("interaction", 10062)
        return record

    def _by_token(self, request: web.Request) -> InteractionRecord:
        """The acknowledged interaction whose webhook token is in the path."""
        if snowflake(request, "application_id") != self.server.application_id:
            raise unknown("Webhook", 10015)
        token = request.match_info["token"]
        for record in self.records.values():
            if record.token == token and record.callback_type is not None:
                return record
        raise unknown("Webhook", 10015)

    async def callback(self, request: web.Request) -> web.Response:
        """POST /interactions/{id}/{token}/callback: acknowledge once, in time."""
        record = self._record(request)
        body = await read_body(request)
        if record.callback_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if asyncio.get_running_loop().time() - record.created > self.window:
            record.late = True
            raise unknown("interaction", 10062)
        payload = payload_dict(body)
        kind = int(payload.get("type", 0))
        if kind not in ALLOWED_CALLBACKS.get(record.type, set()):
            raise invalid(f"type: callback {kind} not allowed for interaction type {record.type}")
        data = payload.get("data") or {}
        record.callback_type = kind
        try:
            message = await self._apply(record, kind, Body(data, body.files))
        except ApiError:
            record.callback_type = None
            raise
        record.update_done()
        return json_response(self._callback_json(record, kind, message))

    async def _apply(self, record: InteractionRecord, kind: int, body: Body) -> Message | None:
        """Carry out a callback; returns the message it created or changed, if any."""
        data = body.payload
        if kind == MESSAGE:
            message = self._response_message(record, body)
            record.original_id = message.id
            return await self.server.messages.post(message)
        if kind == DEFERRED:
            flags = LOADING | (int(data.get("flags") or 0) & EPHEMERAL)
            message = self._bare_message(record, flags)
            record.original_id = message.id
            return await self.server.messages.post(message)
        if kind in (DEFERRED_UPDATE, UPDATE):
            return await self._update_source(record, kind, body)
        if kind == CHOICES:
            choices = list(data.get("choices") or [])
            if len(choices) > 25:
                raise invalid("choices: Must be 25 or fewer in length.")
            record.choices = choices
        elif kind == MODAL:
            if not data.get("custom_id") or not data.get("title") or not data.get("components"):
                raise invalid("a modal needs custom_id, title and components")
            record.modal = data
        return None

    async def _update_source(self, record: InteractionRecord, kind: int, body: Body) -> Message:
        """Callback 6/7: the message the component was on becomes the original."""
        if record.source_message_id is None:
            raise invalid("no message to update")
        source = self.server.store.messages[record.source_message_id]
        record.original_id = source.id
        if kind == UPDATE:
            self.server.messages.edit(source, body)
            await self.server.messages.updated(source)
        return source

    def _response_message(self, record: InteractionRecord, body: Body) -> Message:
        """A response or followup message from the bot for this interaction."""
        message = self.server.messages.build(record.channel_id, self.server.bot.id, body,
                                             allow_ephemeral=True)
        self._mark(record, message)
        return message

    def _bare_message(self, record: InteractionRecord, flags: int) -> Message:
        """An empty loading message (a deferral)."""
        message = Message(id=self.server.store.ids.next(), channel_id=record.channel_id,
                          author_id=self.server.bot.id, flags=flags)
        self._mark(record, message)
        return message

    def _mark(self, record: InteractionRecord, message: Message) -> None:
        """Stamp a message as sent by the application for this interaction."""
        message.type = 20 if record.type == 2 else 0
        message.application_id = self.server.application_id
        message.webhook_id = self.server.application_id
        user = self.server.store.users[record.user_id]
        message.interaction_metadata = {"id": str(record.id), "type": record.type,
                                        "user": {"id": str(user.id), "username": user.name,
                                                 "discriminator": "0", "avatar": None},
                                        "authorizing_integration_owners":
                                            record.payload["authorizing_integration_owners"]}

    def _callback_json(self, record: InteractionRecord, kind: int, message: Message | None) -> Json:
        """The `with_response` body: the interaction and the resource it made."""
        resource: Json = {"type": kind}
        if message is not None and kind in (MESSAGE, DEFERRED, UPDATE):
            resource["message"] = self.server.message_json(message)
        return {"interaction": {
            "id": str(record.id), "type": record.type,
            "response_message_id": str(message.id) if message else None,
            "response_message_loading": kind == DEFERRED,
            "response_message_ephemeral": bool(message and message.ephemeral)},
            "resource": resource}

    async def followup(self, request: web.Request) -> web.Response:
        """POST /webhooks/{app}/{token}: a followup (the first after a deferral fills it)."""
        record = self._by_token(request)
        body = await read_body(request)
        original = self._original(record)
        if original is not None and not original.deleted and original.flags & LOADING:
            self.server.messages.edit(original, body)
            original.flags &= ~LOADING
            await self.server.messages.updated(original)
            message = original
        else:
            message = await self.server.messages.post(self._response_message(record, body))
        record.followup_ids.append(message.id)
        record.update_done()
        return json_response(self.server.message_json(message))

    def _original(self, record: InteractionRecord) -> Message | None:
        """The original response message, if there is one."""
        if record.original_id is None:
            return None
        return self.server.store.messages.get(record.original_id)

    def _target(self, request: web.Request) -> tuple[InteractionRecord, Message]:
        """The interaction and the @original or followup message named in the path."""
        record = self._by_token(request)
        raw = request.match_info["message_id"]
        if raw == "@original":
            message = self._original(record)
        else:
            wanted = snowflake(request, "message_id")
            owned = wanted == record.original_id or wanted in record.followup_ids
            message = self.server.store.messages.get(wanted) if owned else None
        if message is None or message.deleted:
            raise unknown("Message", 10008)
        return record, message

    async def get_message(self, request: web.Request) -> web.Response:
        """GET a response message."""
        _, message = self._target(request)
        return json_response(self.server.message_json(message))

    async def edit_message(self, request: web.Request) -> web.Response:
        """PATCH a response message; editing a loading original completes the deferral."""
        record, message = self._target(request)
        self.server.messages.edit(message, await read_body(request))
        if message.id == record.original_id:
            message.flags &= ~LOADING
            record.original_edited = True
        await self.server.messages.updated(message)
        record.update_done()
        return json_response(self.server.message_json(message))

    async def delete_message(self, request: web.Request) -> web.Response:
        """DELETE a response message."""
        _, message = self._target(request)
        message.deleted = True
        await self.server.events.message_delete(message)
        return no_content()
