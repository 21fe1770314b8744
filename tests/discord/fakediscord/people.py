"""What people do in the fake Discord: write messages, run commands, click, submit modals."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from tests.discord.fakediscord import payloads
from tests.discord.fakediscord.commands import OptionBuilder, find_command, nest
from tests.discord.fakediscord.events import Events
from tests.discord.fakediscord.gateway import Json
from tests.discord.fakediscord.interactions import (
    InteractionRecord,
    InteractionResult,
    Interactions,
)
from tests.discord.fakediscord.messages import Messages, walk_components
from tests.discord.fakediscord.state import (
    GUILD_TEXT,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    Channel,
    Command,
    Guild,
    Message,
    Store,
    User,
)
from tests.discord.fakediscord.web import Body

DM_CONTEXT: Literal["dm"] = "dm"
Where = Guild | Literal["dm"]


class People:
    """The test-facing actions of users; mixed into `FakeDiscord`, which provides the state."""

    store: Store
    events: Events
    messages: Messages
    interactions: Interactions
    bot: User
    application_id: int

    def dm_channel_of(self, user: User) -> Channel:
        """The DM channel between the bot and the user."""
        raise NotImplementedError

    def channels_in(self, guild: Guild) -> list[Channel]:
        """The guild's channels."""
        raise NotImplementedError

    def can_see(self, user: User | int, channel: Channel | int) -> bool:
        """Whether the user can view the channel."""
        raise NotImplementedError

    def message_json(self, message: Message) -> Json:
        """A message as REST returns it."""
        raise NotImplementedError

    async def user_message(self, user: User, channel: Channel, content: str = "hello") -> Message:
        """The user writes in a channel they can see (content withheld per the bot's intents)."""
        perms = self.store.permissions(user.id, channel.id)
        need = SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES
        if not perms & need:
            raise PermissionError(f"{user.name} cannot write in {channel.name or channel.id}")
        if channel.is_thread and channel.archived:
            if channel.locked:
                raise PermissionError("the thread is locked")
            channel.archived = False
            await self.events.channel("CHANNEL_UPDATE", channel)
        message = self.messages.build(channel.id, user.id, Body({"content": content}))
        return await self.messages.post(message)

    async def slash(self, user: User, where: Where, name: str,
                    options: dict[str, Any] | None = None, *, channel: Channel | None = None,
                    within: float = 5.0) -> InteractionResult:
        """Invoke a synced slash command (`"group sub"` names too) and wait for the answer."""
        place, guild = self._place(user, where, channel)
        _, data = self._command_data(user, place, guild, name, options or {}, None)
        record = self.interactions.new(2, user.id, place.id, self._base(user, place))
        record.payload["data"] = data
        return await self._run(record, f"/{name}", within)

    async def autocomplete(self, user: User, where: Where, name: str, focused: str,
                           options: dict[str, Any], *, channel: Channel | None = None,
                           within: float = 5.0) -> list[Json]:
        """Type into option `focused` of a command and return the bot's choices."""
        place, guild = self._place(user, where, channel)
        _, data = self._command_data(user, place, guild, name, options, focused)
        record = self.interactions.new(4, user.id, place.id, self._base(user, place))
        record.payload["data"] = data
        result = await self._run(record, f"autocomplete /{name}", within)
        return result.choices or []

    async def click(self, user: User, message: Message, custom_id: str,
                    values: list[str] | None = None, *, within: float = 5.0) -> InteractionResult:
        """Click a button (or pick select `values`) on a message and wait for the answer."""
        message = self.store.messages[message.id]
        component = next((c for c in walk_components(message.components)
                          if c.get("custom_id") == custom_id), None)
        if component is None or component.get("disabled"):
            raise LookupError(f"no enabled component {custom_id!r} on message {message.id}")
        self._check_can_use(user, message)
        channel = self.store.channels[message.channel_id]
        payload = self._base(user, channel)
        payload["message"] = self.message_json(message)
        data: Json = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        payload["data"] = data
        record = self.interactions.new(3, user.id, channel.id, payload, source=message)
        return await self._run(record, f"click {custom_id}", within)

    async def submit_modal(self, user: User, custom_id: str, values: dict[str, str], *,
                           within: float = 5.0) -> InteractionResult:
        """Submit the modal the bot last opened for this user with this custom_id."""
        opener = next((r for r in reversed(self.interactions.records.values())
                       if r.user_id == user.id and r.modal and r.modal["custom_id"] == custom_id),
                      None)
        if opener is None or opener.modal is None:
            raise LookupError(f"the bot opened no modal {custom_id!r} for {user.name}")
        unused = set(values) - {c.get("custom_id") for c in walk_components(opener.modal["components"])}
        if unused:
            raise ValueError(f"the modal has no inputs {sorted(unused)}")
        channel = self.store.channels[opener.channel_id]
        payload = self._base(user, channel)
        source = self.store.messages.get(opener.source_message_id or 0)
        if source is not None:
            payload["message"] = self.message_json(source)
        payload["data"] = {"custom_id": custom_id,
                           "components": _modal_answers(opener.modal["components"], values)}
        record = self.interactions.new(5, user.id, channel.id, payload, source=source)
        return await self._run(record, f"modal {custom_id}", within)

    def _place(self, user: User, where: Where, channel: Channel | None) -> tuple[Channel, Guild | None]:
        """The channel an interaction happens in, which the user must be able to see."""
        if where == DM_CONTEXT:
            return self.dm_channel_of(user), None
        assert isinstance(where, Guild)
        place = channel or next(c for c in self.channels_in(where) if c.type == GUILD_TEXT)
        if place.guild_id != where.id:
            raise ValueError("the channel is not in that guild")
        if not self.can_see(user, place):
            raise PermissionError(f"{user.name} cannot see {place.name}")
        return place, where

    def _command_data(self, user: User, place: Channel, guild: Guild | None, name: str,
                      options: dict[str, Any], focused: str | None) -> tuple[Command, Json]:
        """The `data` of an application command interaction, with typed, nested options."""
        commands = list(self.store.global_commands)
        if guild is not None:
            commands = self.store.guild_commands.get(guild.id, []) + commands
        else:
            commands = [c for c in commands if _usable_in_dm(c)]
        invocation = find_command(commands, name)
        required = invocation.command.data.get("default_member_permissions")
        perms = self.store.permissions(user.id, place.id)
        if guild is not None and required is not None and int(required) & perms != int(required):
            raise PermissionError(f"{user.name} may not use /{name}")
        builder = OptionBuilder(self.store, guild, {place.id: perms})
        leaf = builder.build(invocation.leaf_options, options, focused)
        data: Json = {"id": str(invocation.command.id), "name": invocation.command.name,
                      "type": 1, "options": nest(invocation.path, leaf)}
        if builder.resolved:
            data["resolved"] = builder.resolved
        if invocation.command.guild_id is not None:
            data["guild_id"] = str(invocation.command.guild_id)
        return invocation.command, data

    def _check_can_use(self, user: User, message: Message) -> None:
        """Only the interaction's user sees an ephemeral message; others need the channel."""
        if message.ephemeral:
            owner = (message.interaction_metadata or {}).get("user", {}).get("id")
            if owner != str(user.id):
                raise PermissionError(f"{user.name} cannot see that ephemeral message")
        elif not self.can_see(user, message.channel_id):
            raise PermissionError(f"{user.name} cannot see that message")

    def _base(self, user: User, channel: Channel) -> Json:
        """The fields every interaction carries, for a user in a channel."""
        channel_data = payloads.channel_json(self.store, channel)
        channel_data["permissions"] = str(self.store.permissions(user.id, channel.id))
        guild_id = channel.guild_id
        payload: Json = {
            "application_id": str(self.application_id), "version": 1, "locale": user.locale,
            "app_permissions": str(self.store.permissions(self.bot.id, channel.id)),
            "entitlements": [], "attachment_size_limit": 26214400,
            "channel_id": str(channel.id), "channel": channel_data,
            "context": 0 if guild_id else 1,
            "authorizing_integration_owners": {"0": str(guild_id or 0)}}
        if guild_id is None:
            payload["user"] = payloads.user_json(user)
            return payload
        member = payloads.member_json(self.store, self.store.guilds[guild_id].members[user.id])
        member["permissions"] = channel_data["permissions"]
        payload.update(guild_id=str(guild_id), guild_locale="en-US", member=member,
                       guild={"id": str(guild_id), "locale": "en-US", "features": []})
        return payload

    async def _run(self, record: InteractionRecord, what: str, within: float) -> InteractionResult:
        """Dispatch INTERACTION_CREATE and wait until the bot has answered."""
        await self.events.interaction(record.payload)
        try:
            async with asyncio.timeout(within):
                await record.done.wait()
        except TimeoutError:
            raise TimeoutError(f"the bot did not answer {what} within {within}s "
                               f"(callback type {record.callback_type})") from None
        return InteractionResult(record, self.store)


def _modal_answers(components: list[Json], values: dict[str, str]) -> list[Json]:
    """The submitted components of a modal, mirroring its layout (rows or labels)."""
    answers: list[Json] = []
    for component in components:
        if component.get("type") == 1:
            answers.append({"type": 1, "components": _modal_answers(component["components"], values)})
        elif component.get("type") == 18:
            inner = _modal_answers([component["component"]], values)[0]
            answers.append({"type": 18, "component": inner})
        elif component.get("type") == 4:
            custom_id = component["custom_id"]
            value = values.get(custom_id, component.get("value") or "")  # as prefilled
            if component.get("required", True) and not value:
                raise ValueError(f"the modal input {custom_id!r} is required")
            answers.append({"type": 4, "custom_id": custom_id, "value": value})
    return answers


def _usable_in_dm(command: Command) -> bool:
    """Whether a global command may be used in the bot's DMs."""
    contexts = command.data.get("contexts")
    if contexts is not None:
        return 1 in contexts
    return command.data.get("dm_permission") is not False
