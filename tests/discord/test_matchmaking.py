"""Matchmaking on Discord: ``/seek``'s form, one answer per form, proposals with buttons,
and server roles as the communities a proposal mixes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bots.discord.communities import Communities, top_role
from bots.discord.names import member_id
from bots.discord.seeking import FIELD_PREFIX, Profile, SeekForm, steps
from core.events import Typed
from tests.discord.conftest import Bots
from tests.discord.fakediscord import FakeDiscord
from tests.discord.fakediscord.interactions import InteractionResult, buttons_of
from tests.discord.fakediscord.messages import walk_components
from tests.discord.fakediscord.state import User
from tests.discord.test_adapter import dm_buttons, dm_texts
from tests.discord.twinome import World, make_world

LOOKING = "looking for companions"


def fields_of(opened: InteractionResult) -> dict[str, str]:
    """The inputs of the modal an interaction opened, by name, with their prefilled values."""
    assert opened.callback_type == 9 and opened.modal is not None
    return {c["custom_id"].removeprefix(FIELD_PREFIX): c.get("value") or ""
            for c in walk_components(opened.modal["components"]) if c.get("type") == 4}


async def seek_by_form(world: World, who: User, **values: str) -> InteractionResult:
    """``who`` runs /seek and submits the form with these fields (the rest as prefilled)."""
    opened = await world.slash(who, "seek")
    fields_of(opened)
    assert opened.modal is not None
    return await world.server.submit_modal(
        who, opened.modal["custom_id"], {FIELD_PREFIX + k: v for k, v in values.items()})


async def delivered(world: World) -> None:
    """Wait until the running pump has carried out every effect written so far.

    (Not ``World.settle``: draining beside the running pump may carry an effect out twice.)
    """
    for _ in range(500):
        if not await world.core.pending("discord", 10, 0):
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("effects are still waiting to be carried out")


async def profile_of(world: World, who: User) -> tuple[list[str], str | None, str | None]:
    async with world.db.read() as tx:
        rows = await tx.all("SELECT kind || ':' || skill FROM skills WHERE member_id = ? "
                            "ORDER BY 1", (member_id(who.id),))
        me = await tx.one("SELECT tz, languages FROM members WHERE id = ?", (member_id(who.id),))
    assert me is not None
    return [r[0] for r in rows], me["languages"], me["tz"]


async def test_seek_opens_a_form_prefilled_and_its_submission_seeks_with_one_answer(
        world: World) -> None:
    alice = world.alice
    await world.slash(alice, "offer", {"skill": "spanish"})
    await world.slash(alice, "languages", {"codes": "fr en"})
    opened = await world.slash(alice, "seek")
    assert fields_of(opened) == {"offers": "spanish", "wants": "", "languages": "fr en",
                                 "timezone": ""}
    assert opened.modal is not None
    done = await world.server.submit_modal(alice, opened.modal["custom_id"], {
        FIELD_PREFIX + "offers": "Spanish, python", FIELD_PREFIX + "wants": "drawing, music",
        FIELD_PREFIX + "timezone": "Europe/Paris"})
    assert done.callback_type == 4 and done.ephemeral and LOOKING in done.content
    assert "python" in done.content and "music" in done.content
    assert "Europe/Paris" in done.content and "Missing" not in done.content
    await delivered(world)
    assert done.followups == []
    assert dm_texts(world, alice) == [], "the profile changes were not answered apart"
    assert await profile_of(world, alice) == (
        ["offer:python", "offer:spanish", "want:drawing", "want:music"], "fr en", "Europe/Paris")
    async with world.db.read() as tx:
        ids = await tx.all("SELECT event_id FROM processed_events WHERE event_id LIKE ? "
                           "ORDER BY event_id", (f"discord:{done.record.id}%",))
        lobby = await tx.value("SELECT count(*) FROM lobby WHERE member_id = ?",
                               (member_id(alice.id),))
    assert [r[0] for r in ids] == [f"discord:{done.record.id}"] + [
        f"discord:{done.record.id}:{n}" for n in range(1, 5)]
    assert lobby == 1


async def test_the_form_corrects_the_profile_and_says_every_error_in_its_one_answer(
        world: World) -> None:
    bob = world.bob
    for kind, skill in (("offer", "python"), ("offer", "cobol"), ("want", "spanish")):
        await world.slash(bob, kind, {"skill": skill})
    done = await seek_by_form(world, bob, offers="python", languages="fr, 42",
                              timezone="Mars/Olympus")
    assert done.ephemeral and LOOKING in done.content
    assert "Mars/Olympus" in done.content and "42" in done.content
    assert done.content.index("Mars/Olympus") < done.content.index(LOOKING)
    await delivered(world)
    assert done.followups == [] and dm_texts(world, bob) == []
    assert await profile_of(world, bob) == (["offer:python", "want:spanish"], None, "UTC")
    again = await seek_by_form(world, bob)
    assert again.ephemeral and "already looking" in again.content
    await delivered(world)
    assert again.followups == []


async def test_three_seekers_who_used_the_form_form_a_trio_with_buttons(world: World) -> None:
    server = world.server
    people = (world.alice, world.bob, world.carol)
    for who, offer, want in zip(people, ("spanish", "python", "drawing"),
                                ("drawing", "spanish", "python"), strict=True):
        looking = await seek_by_form(world, who, offers=offer, wants=want, languages="en")
        assert looking.ephemeral and LOOKING in looking.content
    await server.wait_until(lambda: all(dm_buttons(world, p, "two companions") for p in people))
    for who in people:
        message = dm_buttons(world, who, "two companions")
        assert "can mentor" in message.content
        accept = next(b for b in buttons_of(message) if b.label == "Accept")
        answered = await server.click(who, message, accept.custom_id)
        assert answered.ephemeral and answered.content
    await server.wait_until(lambda: len(world.trio_channels()) == 1 and len(
        server.threads_of(world.trio_channels()[0])) == 3)
    channel = world.trio_channels()[0]
    assert [server.can_see(u, channel) for u in (*people, world.dave)] == [True, True, True, False]


@pytest.mark.parametrize("roles", [True, False], ids=["with-roles", "without-roles"])
async def test_server_roles_decide_which_trio_is_proposed(
        server: FakeDiscord, bots: Bots, db_target: Path | str, roles: bool) -> None:
    world = await make_world(server, bots, db_target, scheduler=False)
    try:
        if roles:  # alice and carol are artists; bob and dave each come from elsewhere
            artists, coders, cooks = [await server.add_role(world.guild, name)
                                      for name in ("Artists", "Coders", "Cooks")]
            for who, role in ((world.alice, artists), (world.bob, coders),
                              (world.carol, artists), (world.dave, cooks)):
                await server.add_member(world.guild, who, [role])
        lobby = ((world.alice, "spanish", "drawing"), (world.bob, "python", "spanish"),
                 (world.carol, "drawing", "python"), (world.dave, "drawing", "python"))
        for who, offer, want in lobby:  # carol has waited longer than dave
            looking = await seek_by_form(world, who, offers=offer, wants=want)
            assert LOOKING in looking.content
            world.clock.advance(timedelta(minutes=1))
        if roles:
            assert world.communities.of(member_id(world.carol.id)) == "Artists"
        await world.bot.runtime.fire_due()
        await delivered(world)
        proposed = {who.name for who, *_ in lobby if dm_buttons(world, who, "two companions")}
        assert proposed == ({"alice", "bob", "dave"} if roles else {"alice", "bob", "carol"})
    finally:
        await bots.stop_all()
        await world.db.close()


def test_the_form_becomes_the_profile_commands_then_seek() -> None:
    profile = Profile(("cobol", "python"), ("python", "spanish"), "en", None)
    assert steps(SeekForm(), profile) == [Typed("seek")]
    assert steps(SeekForm(offers="Python, Go,  go", wants="spanish", languages="EN",
                          timezone="Europe/Paris"), profile) == [
        Typed("skills", {"action": "remove", "skill": "cobol"}),
        Typed("skills", {"action": "remove", "skill": "python"}),
        Typed("offer", {"skill": "python"}), Typed("offer", {"skill": "go"}),
        Typed("timezone", {"zone": "Europe/Paris"}), Typed("seek")]


class _Role:
    def __init__(self, name: str, position: int, *, default: bool = False,
                 managed: bool = False) -> None:
        self.name, self.position, self.id, self.managed = name, position, position, managed
        self._default = default

    def is_default(self) -> bool:
        return self._default


def test_a_members_community_is_their_top_role_remembered_within_bounds() -> None:
    member: Any = type("M", (), {})()
    member.roles = [_Role("@everyone", 0, default=True), _Role("Artists", 2),
                    _Role("Server Booster", 5, managed=True), _Role("Readers", 1)]
    assert top_role(member) == "Artists"
    member.roles = [_Role("@everyone", 0, default=True)]
    assert top_role(member) is None
    communities = Communities(limit=2)
    communities.note(object())  # type: ignore[arg-type]  # a user outside any server
    for n, role in ((1, "Artists"), (2, None), (1, "Readers"), (3, "Cooks")):
        communities.remember(member_id(n), role)
    assert [communities.of(member_id(n)) for n in (1, 2, 3)] == ["Readers", None, "Cooks"]
