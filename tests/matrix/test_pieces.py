"""The Matrix adapter's pieces that need no homeserver: config, names, HTML, rooms, retries."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import nio
import pytest

from bots.adapter.bindings import Bindings
from bots.matrix import rooms
from bots.matrix.bot import core_settings
from bots.matrix.calls import MatrixCallError, checked
from bots.matrix.config import PASSWORD_ENV, TOKEN_ENV, ConfigError, from_dict, load
from bots.matrix.inbound import Translator
from bots.matrix.names import read_mention
from bots.matrix.render import html_to_text, split_notice, strip_reply_fallback, to_html
from bots.matrix.session import LoginError, SyncToken, _with_password
from core import grammar
from core.clock import FakeClock
from core.events import CommandReceived, LineMessage
from core.i18n import render
from core.service import Twinome
from core.storage.db import Database

GOOD = {
    "storage": {"path": "db/twinome.db"},
    "matrix": {"homeserver": "https://matrix.example.org", "user_id": "@twinome:example.org",
               "store_dir": "store"},
}
SECRET = {PASSWORD_ENV: "s3cret"}


def with_matrix(**changes: Any) -> dict[str, Any]:
    return {**GOOD, "matrix": {**GOOD["matrix"], **changes}}


def test_config_reads_paths_from_the_files_folder_and_secrets_from_the_environment(
        tmp_path: Path) -> None:
    path = tmp_path / "twinome.toml"
    path.write_text('[storage]\npath = "db/t.db"\n[matrix]\nhomeserver = "http://hs:8008/"\n'
                    'user_id = "@bot:hs"\nstore_dir = "/abs/store"\n')
    config = load(path, {TOKEN_ENV: "tok"})
    assert config.database == tmp_path / "db/t.db"
    assert config.store_dir == Path("/abs/store")
    assert config.homeserver == "http://hs:8008" and config.server_name == "hs"
    assert config.access_token == "tok" and config.password is None
    assert (config.prefix, config.trust, config.moderators_room) == ("!", "tofu", None)
    assert config.language == "en" and core_settings(config).default_language == "en"


def test_config_reads_the_bots_default_language() -> None:
    config = from_dict({**GOOD, "bot": {"default_language": "fr"}}, SECRET)
    assert config.language == "fr" and core_settings(config).default_language == "fr"


@pytest.mark.parametrize(("data", "env", "says"), [
    (GOOD, {}, PASSWORD_ENV),
    (with_matrix(password="x"), SECRET, "Remove [matrix] password"),
    (with_matrix(user_id="twinome"), SECRET, "user_id"),
    (with_matrix(homeserver="matrix.example.org"), SECRET, "homeserver"),
    (with_matrix(trust="always"), SECRET, "trust"),
    (with_matrix(command_prefix="go"), SECRET, "command_prefix"),
    (with_matrix(moderators_room="mods"), SECRET, "moderators_room"),
    ({"matrix": GOOD["matrix"]}, SECRET, "[storage]"),
    ({**GOOD, "bot": {"default_language": "es"}}, SECRET, "[bot] default_language"),
    (with_matrix(store_dir=3), SECRET, "store_dir"),
])
def test_config_errors_say_what_to_fix(data: dict[str, Any], env: dict[str, str],
                                       says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_dict(data, env)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_config_file_problems_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No configuration file"):
        load(tmp_path / "missing.toml", SECRET)
    broken = tmp_path / "broken.toml"
    broken.write_text("[matrix\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(broken, SECRET)


@pytest.mark.parametrize(("typed", "member"), [
    ("@bob", "@bob:example.org"),
    ("@Bob", "@bob:example.org"),
    ("bob", "@bob:example.org"),
    ("@bob:other.net", "@bob:other.net"),
    ("@bob:localhost:8448", "@bob:localhost:8448"),
    ("https://matrix.to/#/@carol:other.net", "@carol:other.net"),
    ("https://matrix.to/#/%40carol%3Aother.net?via=x", "@carol:other.net"),
    ("matrix:u/dave:other.net", "@dave:other.net"),
    ("<https://matrix.to/#/@erin:x.org>", "@erin:x.org"),
    ("@bob,", "@bob:example.org"),
    ("@", None),
    ("@bad name", None),
    ("@bob:bad server!", None),
])
def test_mentions_become_matrix_user_ids(typed: str, member: str | None) -> None:
    assert read_mention(typed, "example.org") == member


def test_notices_become_escaped_html_with_links_and_line_breaks() -> None:
    html = to_html("Invite <code> & more\nLink: https://matrix.to/#/@bot:x?code=AB-CD.")
    assert html.startswith("Invite &lt;code&gt; &amp; more<br/>Link: ")
    assert '<a href="https://matrix.to/#/@bot:x?code=AB-CD">' in html
    assert html.endswith("</a>.")


def notice_size(part: str) -> int:
    """Bytes of a part's text and HTML as JSON (ASCII escapes: an upper bound on UTF-8)."""
    return len(json.dumps(part)) + len(json.dumps(to_html(part))) - 4


def test_a_long_notice_is_cut_at_line_breaks_and_each_part_fits() -> None:
    lines = [f"{i:04} caf\u00e9 & <b> \U0001F600 https://example.org/{i}" for i in range(600)]
    text = "\n".join(lines)
    parts = split_notice(text, budget=4000)
    assert len(parts) > 5 and all(notice_size(part) <= 4000 for part in parts)
    assert "\n".join(parts) == text  # every cut was at a line break, and dropped it
    assert split_notice("short\ntext", budget=4000) == ["short\ntext"]
    assert split_notice("") == [""]


def test_a_single_giant_line_is_cut_after_a_space_or_hard_between_characters() -> None:
    giant = "\u00e9\U0001F600" * 5000
    parts = split_notice(giant, budget=3000)
    assert len(parts) > 5 and all(notice_size(part) <= 3000 for part in parts)
    assert "".join(parts).encode() == giant.encode()  # nothing lost, no character split
    words = "word " * 3000
    cut = split_notice(words, budget=3000)
    assert "".join(cut) == words and all(part.endswith(" ") for part in cut)


def test_formatted_commands_read_pills_as_user_ids() -> None:
    formatted = ('<mx-reply><blockquote>old</blockquote></mx-reply>!trio invite '
                 '<a href="https://matrix.to/#/@carol:x.org">Carol</a> &amp; co')
    assert html_to_text(formatted) == "!trio invite @carol:x.org & co"
    assert strip_reply_fallback("> <@bot:x> hello\n> there\n\n!turn") == "!turn"
    assert strip_reply_fallback("!turn") == "!turn"


def test_room_power_levels_keep_members_from_inviting_or_changing_power() -> None:
    levels = rooms.power_levels()
    member = levels["users_default"]
    assert member == 0 and "users" not in levels  # the creator is the bot
    for action in ("invite", "kick", "ban", "redact", "state_default"):
        assert levels[action] > member
    assert levels["events"]["m.room.power_levels"] == rooms.ADMIN
    state = {e["type"]: e for e in rooms.line_initial_state("@bot:x", "!")}
    assert state["m.room.encryption"]["content"]["algorithm"] == rooms.MEGOLM
    assert state["m.room.history_visibility"]["content"]["history_visibility"] == "joined"
    assert state[rooms.COMMANDS_EVENT]["state_key"] == "@bot:x"


def test_the_msc4332_list_has_every_command_of_the_table() -> None:
    content = rooms.commands_content("!")
    listed = {c["syntax"].split(" {")[0] for c in content["commands"]}
    assert listed == {c.name for c in grammar.COMMANDS}
    join = next(c for c in content["commands"] if c["syntax"] == "trio join {code}")
    assert join["variables"]["code"]["m.text"][0]["body"] == "the invite code"
    assert join["description"]["m.text"][0]["body"].startswith("Take a seat")
    leave = next(c for c in content["commands"] if c["syntax"] == "trio leave {confirm}")
    assert leave["variables"]["confirm"]["m.text"][0]["body"].endswith(" (optional)")


def test_the_msc4332_list_is_in_the_bots_default_language() -> None:
    content = rooms.commands_content("!", "fr")
    syntaxes = {c["syntax"] for c in content["commands"]}
    assert {"trio rejoindre {code}", "tour", "bilan", "données oublier {confirm}"} <= syntaxes
    assert "trio join {code}" not in syntaxes
    leave = next(c for c in content["commands"] if c["syntax"] == "trio quitter {confirm}")
    assert leave["variables"]["confirm"]["m.text"][0]["body"].endswith(" (facultatif)")
    state = {e["type"]: e for e in rooms.line_initial_state("@bot:x", "!", "fr")}
    assert state[rooms.COMMANDS_EVENT]["content"] == content


class Transport:
    def __init__(self, status: int) -> None:
        self.status = status


def error(code: str | None, status: int, retry_ms: int | None = None) -> nio.ErrorResponse:
    response = nio.ErrorResponse("no", code, retry_ms)
    response.transport_response = Transport(status)
    return response


class Script:
    """A fake homeserver call: answers from a list, and records the waits asked for."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.slept: list[float] = []

    async def call(self) -> Any:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


async def test_rate_limits_server_errors_and_lost_connections_are_retried() -> None:
    ok = nio.RoomSendResponse("$e", "!r")
    script = Script(error("M_LIMIT_EXCEEDED", 429, 1500), error(None, 502),
                    aiohttp.ClientConnectionError(), ok)
    got = await checked("sending", script.call, nio.RoomSendResponse, sleep=script.sleep)
    assert got is ok and script.calls == 4
    assert script.slept == [1.5, 1.0, 2.0]


async def test_refusals_fail_at_once_and_retries_stop() -> None:
    script = Script(error("M_FORBIDDEN", 403))
    with pytest.raises(MatrixCallError) as caught:
        await checked("inviting", script.call, nio.RoomInviteResponse, sleep=script.sleep)
    assert caught.value.code == "M_FORBIDDEN" and script.calls == 1 and not script.slept
    script = Script(*[error(None, 500)] * 3)
    with pytest.raises(MatrixCallError):
        await checked("x", script.call, nio.RoomSendResponse, attempts=3, sleep=script.sleep)
    assert script.calls == 3 and len(script.slept) == 2


def test_sync_token_survives_in_store_dir(tmp_path: Path) -> None:
    tokens = SyncToken(tmp_path)
    assert tokens.load() is None
    tokens.save("s72_9")
    assert SyncToken(tmp_path).load() == "s72_9"
    assert (tmp_path / "sync-token").stat().st_mode & 0o077 == 0


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Twinome]:
    async with await Database.open(tmp_path / "t.db") as db:
        yield Twinome(db, FakeClock())


def message(sender: str, body: str, msgtype: str = "m.text", **content: Any) -> Any:
    return nio.Event.parse_event({
        "type": "m.room.message", "event_id": f"$ev{hash((sender, body)) & 0xffff}",
        "sender": sender, "origin_server_ts": 1_700_000_000_000,
        "content": {"msgtype": msgtype, "body": body, **content},
    })


async def test_messages_become_commands_or_line_messages(core: Twinome) -> None:
    bindings = Bindings(core, "matrix")
    await bindings.bind("dm:@alice:x", "!dm")
    await bindings.bind("room:4", "!line")
    me = Translator(bindings, "@bot:x", "!")
    dm, line, other = (nio.MatrixRoom(r, "@bot:x") for r in ("!dm", "!line", "!other"))

    async def read(room: nio.MatrixRoom, event: Any) -> Any:
        found = await me.translate(room, event)
        return None if found is None else found.event

    said = await read(dm, message("@alice:x", "trio new Les Trois"))
    assert isinstance(said, CommandReceived) and said.text == "trio new Les Trois"
    assert said.room is None and said.platform == "matrix" and said.origin == "!dm"
    prefixed = await read(dm, message("@alice:x", "!turn"))
    assert prefixed.text == "turn"
    in_line = await read(line, message("@bob:x", "/turn"))
    assert isinstance(in_line, CommandReceived) and in_line.room == 4 and in_line.text == "turn"
    wrote = await read(line, message("@bob:x", "hello there"))
    assert isinstance(wrote, LineMessage) and wrote.room == 4 and wrote.platform == "matrix"
    assert wrote.at is not None and wrote.at.year == 2023
    picture = await read(line, message("@bob:x", "a picture", "m.image", url="mxc://x/y"))
    assert isinstance(picture, LineMessage) and picture.room == 4
    assert await read(line, message("@bob:x", "a notice", "m.notice")) is None
    assert await read(line, message("@bot:x", "!turn")) is None
    assert await read(other, message("@bob:x", "chatting")) is None
    elsewhere = await read(other, message("@bob:x", "!help"))
    assert isinstance(elsewhere, CommandReceived) and elsewhere.room is None
    pill = message("@alice:x", "!trio invite Carol", format="org.matrix.custom.html",
                   formatted_body='!trio invite <a href="https://matrix.to/#/@carol:x">Carol</a>')
    assert (await read(dm, pill)).text == "trio invite @carol:x"
    stranger = await read(dm, message("@mallory:x", "hello"))
    assert stranger is None


def test_a_matrix_members_community_is_their_homeserver() -> None:
    from bots.matrix.names import homeserver_of
    from core.ids import MemberId

    assert homeserver_of(MemberId("@ana:example.org")) == "example.org"
    assert homeserver_of(MemberId("discord:42")) is None


async def test_a_refused_login_is_said_in_the_bots_default_language() -> None:
    config = from_dict({**GOOD, "bot": {"default_language": "fr"}}, {TOKEN_ENV: "t"})
    client = nio.AsyncClient(config.homeserver, config.user_id)
    try:
        with pytest.raises(LoginError) as caught:
            await _with_password(client, config)
    finally:
        await client.close()
    assert str(caught.value) == f"The saved session no longer works: set {PASSWORD_ENV}."
    assert render(caught.value.text, config.language) == (
        f"La session enregistrée ne fonctionne plus: définissez {PASSWORD_ENV}.")
