"""JSON payloads of the model objects, shaped like Discord's API v10 objects."""

from __future__ import annotations

from typing import Any

from tests.discord.fakediscord.state import (
    DM,
    GUILD_CATEGORY,
    Attachment,
    Channel,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    Store,
    User,
)

Json = dict[str, Any]


def user_json(user: User) -> Json:
    """A user object."""
    return {"id": str(user.id), "username": user.name, "global_name": user.name,
            "discriminator": "0", "avatar": None, "bot": user.bot, "system": False,
            "public_flags": 0, "flags": 0, "banner": None, "accent_color": None}


def role_json(role: Role) -> Json:
    """A role object."""
    return {"id": str(role.id), "name": role.name, "color": 0, "hoist": False,
            "icon": None, "unicode_emoji": None, "position": role.position,
            "permissions": str(role.permissions), "managed": role.managed,
            "mentionable": False, "flags": 0}


def member_json(store: Store, member: Member, *, with_user: bool = True) -> Json:
    """A guild member object (with the user object unless told otherwise)."""
    data: Json = {"nick": None, "avatar": None, "roles": [str(r) for r in member.roles],
                  "joined_at": member.joined_at, "premium_since": None, "deaf": False,
                  "mute": False, "flags": 0, "pending": False,
                  "communication_disabled_until": None}
    if with_user:
        data["user"] = user_json(store.users[member.user_id])
    return data


def overwrite_json(overwrite: Overwrite) -> Json:
    """A permission overwrite object."""
    return {"id": str(overwrite.id), "type": overwrite.type,
            "allow": str(overwrite.allow), "deny": str(overwrite.deny)}


def channel_json(store: Store, channel: Channel) -> Json:
    """A channel object: DM, guild channel, category or thread."""
    if channel.type == DM:
        return {"id": str(channel.id), "type": DM, "flags": 0,
                "last_message_id": _opt_id(channel.last_message_id),
                "recipients": [user_json(store.users[u]) for u in channel.recipients]}
    data: Json = {"id": str(channel.id), "type": channel.type, "name": channel.name,
                  "guild_id": str(channel.guild_id), "position": channel.position,
                  "parent_id": _opt_id(channel.parent_id), "nsfw": False, "flags": 0,
                  "rate_limit_per_user": 0}
    if channel.is_thread:
        data.update(_thread_fields(channel))
        return data
    data["permission_overwrites"] = [overwrite_json(o) for o in channel.overwrites.values()]
    if channel.type != GUILD_CATEGORY:
        data["topic"] = channel.topic
        data["last_message_id"] = _opt_id(channel.last_message_id)
    return data


def _thread_fields(thread: Channel) -> Json:
    """The fields only threads have."""
    return {"owner_id": str(thread.owner_id), "message_count": thread.message_count,
            "member_count": min(len(thread.thread_members), 50),
            "total_message_sent": thread.message_count,
            "last_message_id": _opt_id(thread.last_message_id),
            "thread_metadata": {"archived": thread.archived, "locked": thread.locked,
                                "invitable": thread.invitable,
                                "auto_archive_duration": thread.auto_archive_duration,
                                "archive_timestamp": thread.archive_timestamp}}


def thread_member_json(thread: Channel, user_id: int) -> Json:
    """A thread member object."""
    return {"id": str(thread.id), "user_id": str(user_id),
            "join_timestamp": thread.thread_members[user_id], "flags": 0}


def attachment_json(base_url: str, channel_id: int, attachment: Attachment) -> Json:
    """An attachment object whose url serves the stored bytes."""
    url = f"{base_url}/attachments/{channel_id}/{attachment.id}/{attachment.filename}"
    return {"id": str(attachment.id), "filename": attachment.filename,
            "size": len(attachment.data), "url": url, "proxy_url": url,
            "content_type": attachment.content_type, "description": attachment.description}


def message_json(store: Store, message: Message, base_url: str) -> Json:
    """A message object as REST returns it (no guild_id/member: see `gateway_message`)."""
    author = store.users[message.author_id]
    data: Json = {
        "id": str(message.id), "channel_id": str(message.channel_id), "type": message.type,
        "author": user_json(author), "content": message.content,
        "timestamp": message.timestamp, "edited_timestamp": message.edited_timestamp,
        "tts": False, "mention_everyone": False,
        "mentions": [user_json(store.users[u]) for u in message.mentions if u in store.users],
        "mention_roles": [], "mention_channels": [],
        "attachments": [attachment_json(base_url, message.channel_id, a)
                        for a in message.attachments],
        "embeds": message.embeds, "components": message.components, "pinned": False,
        "flags": message.flags, "nonce": message.nonce,
    }
    if message.webhook_id is not None:
        data["webhook_id"] = str(message.webhook_id)
    if message.application_id is not None:
        data["application_id"] = str(message.application_id)
    if message.interaction_metadata is not None:
        data["interaction_metadata"] = message.interaction_metadata
    if message.reference is not None:
        data["message_reference"] = message.reference
    return data


def gateway_message(store: Store, message: Message, base_url: str, *, with_content: bool) -> Json:
    """A MESSAGE_CREATE/UPDATE payload; without content the content fields are emptied."""
    data = message_json(store, message, base_url)
    channel = store.channels[message.channel_id]
    if channel.guild_id is not None:
        data["guild_id"] = str(channel.guild_id)
        member = store.guilds[channel.guild_id].members.get(message.author_id)
        if member is not None:
            data["member"] = member_json(store, member, with_user=False)
    if not with_content:
        data.update(content="", embeds=[], attachments=[], components=[])
    return data


def guild_json(store: Store, guild: Guild, bot_id: int, *, visible_threads: list[Channel]) -> Json:
    """A GUILD_CREATE payload: roles, channels, the bot's member and visible active threads."""
    channels = [c for c in store.channels_of(guild.id) if not c.is_thread]
    members = [guild.members[bot_id]] if bot_id in guild.members else []
    return {
        "id": str(guild.id), "name": guild.name, "icon": None, "splash": None,
        "discovery_splash": None, "owner_id": str(guild.owner_id), "afk_channel_id": None,
        "afk_timeout": 300, "verification_level": 0, "default_message_notifications": 0,
        "explicit_content_filter": 0, "roles": [role_json(r) for r in guild.roles.values()],
        "emojis": [], "stickers": [], "features": [], "mfa_level": 0,
        "system_channel_id": None, "system_channel_flags": 0, "rules_channel_id": None,
        "vanity_url_code": None, "description": None, "banner": None, "premium_tier": 0,
        "preferred_locale": "en-US", "nsfw_level": 0, "premium_progress_bar_enabled": False,
        "joined_at": guild.members[bot_id].joined_at if bot_id in guild.members else None,
        "large": False, "unavailable": False, "member_count": len(guild.members),
        "voice_states": [], "members": [member_json(store, m) for m in members],
        "channels": [channel_json(store, c) for c in channels],
        "threads": [channel_json(store, t) for t in visible_threads],
        "presences": [], "stage_instances": [], "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }


def _opt_id(value: int | None) -> str | None:
    """A snowflake as a string, or None."""
    return None if value is None else str(value)
