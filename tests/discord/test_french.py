"""Discord in French and English: the synced tree's localizations, replies in each
interaction's language, the adapter's own words, the bot's default language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bots.discord.commands import GROUP_DESCRIPTIONS, short
from bots.discord.config import TOKEN_ENV, ConfigError, from_dict
from bots.discord.views import typed_choices
from core.config import Settings
from core.effects import Choice, Post, to_json
from core.grammar import COMMANDS, Command, Kind, choice_in
from core.i18n import render
from tests.discord.conftest import Bots
from tests.discord.fakediscord import FakeDiscord
from tests.discord.fakediscord.interactions import buttons_of
from tests.discord.fakediscord.state import Message
from tests.discord.twinome import World, make_world

Json = dict[str, Any]


def synced(world: World) -> dict[str, Json]:
    """The commands the fake Discord received on the bulk-overwrite route, by name."""
    return {c.name: c.data for c in world.server.store.guild_commands[world.guild.id]}


def slash_of(tree: dict[str, Json], command: Command) -> tuple[Json, Json | None]:
    """A grammar command's synced data, and its group's when it is a subcommand."""
    if command.name.replace(" ", "-") in tree:
        return tree[command.name.replace(" ", "-")], None
    group = tree[command.words[0]]
    return next(o for o in group["options"] if o["name"] == command.words[1]), group


def french(data: Json, key: str = "name_localizations") -> str:
    return str(data[key]["fr"])


async def test_every_synced_command_option_and_choice_has_its_french(world: World) -> None:
    tree = synced(world)
    for command in COMMANDS:
        data, group = slash_of(tree, command)
        fr = command.words_in("fr")
        assert french(data) == (fr[-1] if group is not None else "-".join(fr)), command.name
        assert french(data, "description_localizations") == short(
            render(command.summary, "fr")), command.name
        if group is not None:
            assert french(group) == fr[0]
        options = {o["name"]: o for o in data.get("options", [])}
        for arg in command.args:
            option = options[arg.name]
            assert french(option) == arg.name_in("fr")
            assert french(option, "description_localizations") == short(render(arg.help, "fr"))
            if arg.kind is Kind.CHOICE:
                assert {c["value"]: french(c) for c in option["choices"]} == {
                    c: choice_in(c, "fr") for c in arg.choices}
    locales = {locale for c in tree.values() for key in ("name_localizations",
               "description_localizations") for locale in c.get(key, {})}
    assert locales == {"fr"}, "English is the base; no other language is claimed"


async def test_the_synced_tree_says_exactly_these_french_words(world: World) -> None:
    tree = synced(world)
    assert french(tree["turn"]) == "tour"
    assert french(tree["turn"], "description_localizations") == (
        "Qui attend une réponse de qui, depuis quand, et qui est absent.")
    assert french(tree["sos-end"]) == "sos-fin" and french(tree["unseek"]) == "chercher-fin"
    assert french(tree["propose-withdraw"]) == "proposer-retirer"
    assert french(tree["privacy"]) == "données"
    assert french(tree["trio"], "description_localizations") == (
        "Vos trios: en lancer un, inviter, rejoindre, quitter, consulter.")
    assert tree["trio"]["description"] == GROUP_DESCRIPTIONS["trio"]
    subs = {o["name"]: o for o in tree["trio"]["options"]}
    assert french(subs["new"]) == "nouveau" and french(subs["settings"]) == "réglages"
    vote = {o["name"]: o for o in tree["vote"]["options"]}
    assert french(vote["id"]) == "numéro"
    assert [french(c) for c in vote["vote"]["choices"]] == ["oui", "non"]
    trio = tree["turn"]["options"][0]
    assert trio["name"] == "trio" and french(trio, "description_localizations") == (
        "lequel de vos trios (quand le salon ne le dit pas)")
    block = tree["block"]["options"][0]
    assert block["name"] == "user" and french(block) == "utilisateur"


async def test_a_command_is_answered_in_its_interactions_language(world: World) -> None:
    world.alice.locale = "fr"
    listed = await world.slash(world.alice, "trio list")
    assert listed.ephemeral and listed.content.startswith(
        "Vous n’êtes encore dans aucun trio. Lancez-en un avec /trio nouveau")
    english = await world.slash(world.bob, "trio list")  # en-US, the fake's default
    assert english.ephemeral and english.content.startswith(
        "You are in no trio yet. Start one with /trio new")
    async with world.db.read() as tx:
        rows = await tx.all("SELECT display_name, locale FROM members ORDER BY display_name")
    assert [tuple(r) for r in rows] == [("alice", "fr"), ("bob", "en-US")]


async def offer_button(world: World) -> tuple[Message, str]:
    """bob offers to mentor alice; her Accept button, shown in the trio channel too."""
    channel = await world.form_trio()
    offered = await world.slash(world.bob, "mentor offer", {"user": world.alice,
                                                             "skill": "python"}, channel=channel)
    assert offered.content
    dm = world.server.dm_channel_of(world.alice)
    await world.server.wait_until(lambda: any(m.components for m in world.server.messages_in(dm)))
    sent = next(m for m in world.server.messages_in(dm) if m.components)
    accept = buttons_of(sent)[0].custom_id
    assert accept is not None and accept.startswith("twinome:mentor accept")
    room = await world.bot.bindings.core_room(str(channel.id))
    assert room is not None
    shown = (Choice("m1", "Accept", accept.removeprefix("twinome:"), "success"),)
    async with world.db.transaction() as tx:
        await tx.run("INSERT INTO outbox (platform, effect, created_at) VALUES (?, ?, 0)",
                     ("discord", to_json(Post(room, "bob offers to mentor alice", shown))))
    world.bot.pump.wake()
    await world.server.wait_until(
        lambda: any(m.components for m in world.server.messages_in(channel)))
    return next(m for m in world.server.messages_in(channel) if m.components), accept


async def test_a_button_pressed_by_the_wrong_person_is_refused_in_their_language(
        world: World) -> None:
    message, accept = await offer_button(world)
    world.carol.locale = "fr"
    refused = await world.server.click(world.carol, message, accept)
    assert refused.ephemeral
    assert refused.content.startswith("Aucune proposition de mentorat numéro 1 ne vous attend")
    english = await world.server.click(world.bob, message, accept)
    assert english.ephemeral
    assert english.content.startswith("You have no mentoring offer numbered 1 waiting in")
    taken = await world.server.click(world.alice, message, accept)
    assert "Aucune proposition" not in taken.content and "no mentoring offer" not in taken.content


async def test_the_forms_speak_the_members_language(world: World) -> None:
    world.alice.locale = "fr"
    channel = await world.form_trio()
    sos = await world.slash(world.alice, "sos", channel=channel)
    assert sos.modal is not None and sos.modal["title"] == "SOS"
    labels = [c.get("label") for c in _inputs(sos.modal)]
    assert labels == ["Un mot pour vos deux alliés (facultatif)"]
    seek = await world.slash(world.alice, "seek")
    assert seek.modal is not None and seek.modal["title"] == "Chercher des compagnons"
    labels = [str(c.get("label")) for c in _inputs(seek.modal)]
    assert "Compétences à transmettre (liste à virgules)" in labels
    assert all(len(label) <= 45 for label in labels), "Discord's limit for a label"
    async with world.db.transaction() as tx:  # she chose English: her Discord's French yields
        await tx.run("UPDATE members SET language = 'en' WHERE display_name = 'alice'")
    seek = await world.slash(world.alice, "seek")
    assert seek.modal is not None and seek.modal["title"] == "Look for companions"
    bob_sos = await world.slash(world.bob, "sos", channel=channel)
    assert bob_sos.modal is not None
    assert [c.get("label") for c in _inputs(bob_sos.modal)] == [
        "A note for your two allies (optional)"]


def _inputs(modal: Json) -> list[Json]:
    """The text inputs of a modal, in rows or labels."""
    found: list[Json] = []
    for component in modal["components"]:
        inner = component.get("components") or [component.get("component") or component]
        found += [c for c in inner if c.get("type") == 4]
    return found


async def test_closed_dms_are_explained_in_the_members_language(world: World) -> None:
    world.bob.locale = "fr"
    await world.form_trio()
    world.bob.dms_closed = True
    ab = world.pair(world.alice, world.bob)
    await world.server.user_message(world.bob, ab, "one")
    await world.server.user_message(world.bob, ab, "two")
    await world.server.wait_until(lambda: world.bot.answers.dms_closed(world.bob.id))
    result = await world.slash(world.bob, "trio list")
    followups = await result.wait_followups(1)
    assert followups[0].ephemeral and followups[0].content.startswith(
        "Vos messages privés avec moi sont fermés, alors voici ce que je n’ai pas pu "
        "vous envoyer:")


def test_the_bots_default_language_comes_from_the_file() -> None:
    base = {"storage": {"path": "t.db"},
            "discord": {"guild_ids": [], "category_name": "Trios"}}
    assert from_dict(base, {TOKEN_ENV: "x"}).default_language == "en"
    config = from_dict({**base, "bot": {"default_language": "fr"}}, {TOKEN_ENV: "x"})
    assert config.default_language == "fr"
    with pytest.raises(ConfigError, match="default_language"):
        from_dict({**base, "bot": {"default_language": "de"}}, {TOKEN_ENV: "x"})


async def test_a_locale_the_bot_does_not_speak_gets_the_default_language(
        server: FakeDiscord, bots: Bots, db_target: Path | str) -> None:
    world = await make_world(server, bots, db_target,
                             settings=Settings(default_language="fr"))
    try:
        world.alice.locale = "de"
        listed = await world.slash(world.alice, "trio list")
        assert listed.content.startswith("Vous n’êtes encore dans aucun trio.")
        world.bob.locale = "en-GB"
        listed = await world.slash(world.bob, "trio list")
        assert listed.content.startswith("You are in no trio yet.")
    finally:
        await bots.stop_all()
        await world.db.close()


def test_a_long_description_loses_its_aside_before_its_words() -> None:
    quiet = ("Régler vos heures de calme (les notifications attendent qu’elles finissent), "
             "ou off pour les retirer.")
    assert short(quiet) == "Régler vos heures de calme, ou off pour les retirer."
    assert short("un mot " * 20) == ("un mot " * 14).strip() + "…"
    assert short("Short (kept as it is).") == "Short (kept as it is)."


def test_a_choice_too_long_for_a_button_is_written_in_the_readers_words() -> None:
    code = "K" * 100
    choices = (Choice("k", "Accepter", f"trio accept {code}"),)
    assert typed_choices("Invitation", choices, "fr") == (
        f"Invitation\n→ Accepter: /trio accepter {code}")
    assert typed_choices("Invite", choices) == f"Invite\n→ Accepter: /trio accept {code}"
