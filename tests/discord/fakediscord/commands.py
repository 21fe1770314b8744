"""Application commands: bulk-overwrite sync routes (checked as Discord checks names,
descriptions and their localizations), and typed options for invocations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.discord.fakediscord import payloads
from tests.discord.fakediscord.state import Channel, Command, Guild, Role, Store, User
from tests.discord.fakediscord.web import invalid, json_response, read_body, snowflake, unknown

if TYPE_CHECKING:
    from tests.discord.fakediscord.server import FakeDiscord

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10

Json = dict[str, Any]


class CommandRoutes:
    """GET and PUT (bulk overwrite) of global and guild commands."""

    def __init__(self, server: FakeDiscord) -> None:
        self.server = server
        self.store = server.store

    def routes(self) -> list[web.RouteDef]:
        """The command routes."""
        base = "/applications/{application_id}"
        return [web.get(base + "/commands", self.get_global),
                web.put(base + "/commands", self.put_global),
                web.get(base + "/guilds/{guild_id}/commands", self.get_guild),
                web.put(base + "/guilds/{guild_id}/commands", self.put_guild)]

    def _check_app(self, request: web.Request) -> None:
        """404 unless the path names the bot's application."""
        if snowflake(request, "application_id") != self.server.application_id:
            raise unknown("Application", 10002)

    def _guild_id(self, request: web.Request) -> int:
        """The guild in the path, if the bot is in it."""
        guild = self.store.guilds.get(snowflake(request, "guild_id"))
        if guild is None or self.server.bot.id not in guild.members:
            raise unknown("Guild", 10004)
        return guild.id

    async def get_global(self, request: web.Request) -> web.Response:
        """GET the global commands."""
        self._check_app(request)
        return json_response([command_json(c) for c in self.store.global_commands])

    async def put_global(self, request: web.Request) -> web.Response:
        """PUT (replace) the global commands."""
        self._check_app(request)
        body = await read_body(request)
        self.store.global_commands = self._overwrite(self.store.global_commands, body.payload, None)
        return json_response([command_json(c) for c in self.store.global_commands])

    async def get_guild(self, request: web.Request) -> web.Response:
        """GET a guild's commands."""
        self._check_app(request)
        commands = self.store.guild_commands.get(self._guild_id(request), [])
        return json_response([command_json(c) for c in commands])

    async def put_guild(self, request: web.Request) -> web.Response:
        """PUT (replace) a guild's commands."""
        self._check_app(request)
        guild_id = self._guild_id(request)
        body = await read_body(request)
        old = self.store.guild_commands.get(guild_id, [])
        self.store.guild_commands[guild_id] = self._overwrite(old, body.payload, guild_id)
        return json_response([command_json(c) for c in self.store.guild_commands[guild_id]])

    def _overwrite(self, old: list[Command], raw: Any, guild_id: int | None) -> list[Command]:
        """New command list; a command keeping its name and type keeps its id, as on Discord."""
        if not isinstance(raw, list) or len(raw) > 100:
            raise invalid("expected a list of at most 100 commands")
        ids = {(c.name, c.type): c.id for c in old}
        result = []
        for data in raw:
            _validate_command(data)
        _validate_unique(raw)
        for data in raw:
            key = (data["name"], int(data.get("type", 1)))
            command_id = ids.get(key) or self.store.ids.next()
            result.append(Command(command_id, self.server.application_id, guild_id, data))
        return result


LOCALES = frozenset({
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl",
    "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi",
    "th", "zh-CN", "ja", "zh-TW", "ko"})
"""The locales Discord accepts as keys of ``name_localizations``/``description_localizations``."""
NAME = re.compile(r"[-_'\w]{1,32}")  # Discord: letters and digits of any script, - _ '


def _validate_command(data: Any) -> None:
    """The checks Discord makes that matter here: names, descriptions, their localizations
    (valid locales, lowercase names, lengths) and names unique among siblings in every
    locale."""
    if not isinstance(data, dict):
        raise invalid("expected a command object")
    chat = int(data.get("type", 1)) == 1
    _validate_named(data, "", described=chat, lowercase=chat)
    if chat:
        _validate_options(data.get("options") or [], data["name"])


def _validate_named(data: Json, where: str, *, described: bool, lowercase: bool) -> None:
    """One command's or option's name and description, in every locale it gives."""
    names = {"": data.get("name")} | _localizations(data, "name_localizations", where)
    for locale, name in names.items():
        if not isinstance(name, str) or not NAME.fullmatch(name) \
                or (lowercase and name != name.lower()):
            raise invalid(f"{where}name{'.' + locale if locale else ''}: {name!r} is not a "
                          "valid name (1 to 32 lowercase letters, digits, - _ ').")
    if not described:
        return
    texts = {"": data.get("description")} | _localizations(data, "description_localizations",
                                                            where)
    for locale, text in texts.items():
        if not isinstance(text, str) or not 1 <= len(text) <= 100:
            raise invalid(f"{where}description{'.' + locale if locale else ''}: Must be "
                          "between 1 and 100 in length.")


def _localizations(data: Json, key: str, where: str) -> dict[str, Any]:
    """A ``*_localizations`` map, its locales checked (none given: empty)."""
    found = data.get(key) or {}
    if not isinstance(found, dict):
        raise invalid(f"{where}{key}: expected an object")
    wrong = set(found) - LOCALES
    if wrong:
        raise invalid(f"{where}{key}: invalid locales {sorted(wrong)}")
    return dict(found)


def _validate_options(options: Any, where: str) -> None:
    """A command's options (and subcommands', recursively), each name unique in every locale."""
    if not isinstance(options, list) or len(options) > 25:
        raise invalid(f"{where}.options: at most 25 options")
    seen: set[tuple[str, str]] = set()
    for option in options:
        if not isinstance(option, dict):
            raise invalid(f"{where}.options: expected objects")
        _validate_named(option, f"{where}.options.", described=True, lowercase=True)
        for locale, name in ({"": option["name"]}
                             | dict(option.get("name_localizations") or {})).items():
            if (locale, name) in seen:
                raise invalid(f"{where}.options: the name {name!r} is used twice"
                              f"{' in ' + locale if locale else ''}")
            seen.add((locale, name))
        for choice in option.get("choices") or []:
            texts = {"": choice.get("name")} | _localizations(choice, "name_localizations", where)
            if not all(isinstance(t, str) and 1 <= len(t) <= 100 for t in texts.values()):
                raise invalid(f"{where}.options.{option['name']}.choices: names must be "
                              "between 1 and 100 in length.")
        if option.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _validate_options(option.get("options") or [], f"{where} {option['name']}")


def _validate_unique(commands: list[Any]) -> None:
    """Chat input commands' names, unique in every locale (as Discord requires)."""
    seen: set[tuple[str, str]] = set()
    for data in commands:
        if int(data.get("type", 1)) != 1:
            continue
        for locale, name in ({"": data["name"]}
                             | dict(data.get("name_localizations") or {})).items():
            if (locale, name) in seen:
                raise invalid(f"name: {name!r} names two commands"
                              f"{' in ' + locale if locale else ''}")
            seen.add((locale, name))


def command_json(command: Command) -> Json:
    """A stored command as the API returns it."""
    data = dict(command.data)
    data.setdefault("type", 1)
    data.setdefault("description", "")
    data.setdefault("options", [])
    data.setdefault("default_member_permissions", None)
    data.setdefault("nsfw", False)
    data.update(id=str(command.id), application_id=str(command.application_id),
                version=str(command.id))
    if command.guild_id is not None:
        data["guild_id"] = str(command.guild_id)
    return data


@dataclass
class Invocation:
    """A command found by its full name, with the definitions of its leaf options."""

    command: Command
    path: list[str]
    leaf_options: list[Json]


def find_command(commands: list[Command], full_name: str) -> Invocation:
    """Find `group sub` style names among synced chat input commands."""
    words = full_name.split()
    for command in commands:
        if command.type == 1 and command.name == words[0]:
            options = list(command.data.get("options") or [])
            for word in words[1:]:
                sub = next((o for o in options if o.get("name") == word
                            and o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)), None)
                if sub is None:
                    raise LookupError(f"/{full_name}: no subcommand {word!r}")
                options = list(sub.get("options") or [])
            if any(o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in options):
                raise LookupError(f"/{full_name} needs a subcommand")
            return Invocation(command, words[1:], options)
    raise LookupError(f"/{full_name} is not a synced command here")


@dataclass
class OptionBuilder:
    """Typed option values and the `resolved` map, as Discord's client sends them."""

    store: Store
    guild: Guild | None
    channel_perms: dict[int, int]
    resolved: Json = field(default_factory=dict)

    def build(self, definitions: list[Json], values: dict[str, Any],
              focused: str | None = None) -> list[Json]:
        """The option list for the given values; unknown or missing ones are test errors."""
        by_name = {d["name"]: d for d in definitions}
        unknown_names = set(values) - set(by_name)
        if unknown_names:
            raise ValueError(f"unknown options {sorted(unknown_names)}")
        result = []
        for definition in definitions:
            name = definition["name"]
            if name not in values:
                if definition.get("required") and focused is None:
                    raise ValueError(f"option {name!r} is required")
                continue
            if name == focused:
                result.append({"name": name, "type": definition["type"],
                               "value": str(values[name]), "focused": True})
            else:
                result.append({"name": name, "type": definition["type"],
                               "value": self._value(definition, values[name])})
        return result

    def _value(self, definition: Json, value: Any) -> Any:
        """One typed value, checked against choices and resolved where needed."""
        kind = definition["type"]
        typed = self._typed(kind, value)
        choices = definition.get("choices")
        if choices and typed not in [c["value"] for c in choices]:
            raise ValueError(f"{value!r} is not a choice of {definition['name']!r}")
        return typed

    def _typed(self, kind: int, value: Any) -> Any:
        """Convert a test value to the wire type of an option."""
        if kind == STRING:
            return str(value)
        if kind == INTEGER:
            return int(value)
        if kind == NUMBER:
            return float(value)
        if kind == BOOLEAN:
            return bool(value)
        if kind in (USER, MENTIONABLE) and isinstance(value, User):
            return self._resolve_user(value)
        if kind in (ROLE, MENTIONABLE) and isinstance(value, Role):
            self.resolved.setdefault("roles", {})[str(value.id)] = payloads.role_json(value)
            return str(value.id)
        if kind == CHANNEL and isinstance(value, Channel):
            data = payloads.channel_json(self.store, value)
            data["permissions"] = str(self.channel_perms.get(value.id, 0))
            self.resolved.setdefault("channels", {})[str(value.id)] = data
            return str(value.id)
        raise ValueError(f"cannot send {value!r} as an option of type {kind}")

    def _resolve_user(self, user: User) -> str:
        """A USER option: the id, with the user (and member) in `resolved`."""
        self.resolved.setdefault("users", {})[str(user.id)] = payloads.user_json(user)
        member = self.guild.members.get(user.id) if self.guild else None
        if member is not None:
            data = payloads.member_json(self.store, member, with_user=False)
            data["permissions"] = "0"
            self.resolved.setdefault("members", {})[str(user.id)] = data
        return str(user.id)


def nest(path: list[str], options: list[Json]) -> list[Json]:
    """Wrap leaf options in their SUB_COMMAND_GROUP/SUB_COMMAND options."""
    for depth, word in reversed(list(enumerate(path))):
        kind = SUB_COMMAND if depth == len(path) - 1 else SUB_COMMAND_GROUP
        options = [{"name": word, "type": kind, "options": options}]
    return options
