"""Several platforms on one core: typed commands, structured choices, per-platform outboxes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bots.adapter.bindings import Bindings
from bots.adapter.pump import Pump
from core.effects import Notify, Reply
from core.events import CommandReceived, Typed
from core.ids import MemberId
from tests.adapter.fakes import FakeCarrier
from tests.helpers import Harness, code_in

_ids = iter(range(1, 10_000))


def typed(who: str, command: str, platform: str = "console", trio: str | None = None,
          **args: object) -> CommandReceived:
    """A slash-command-like event: the arguments come already separated."""
    return CommandReceived(f"t{next(_ids)}", MemberId(who), None, "", who.capitalize(),
                           platform, None, Typed(command, args, trio))


async def run(h: Harness, event: CommandReceived) -> list[Reply | Notify]:
    await h.core.handle([event])
    items = await h.core.pending()
    await h.core.done([i.id for i in items])
    return [i.effect for i in items if isinstance(i.effect, Reply | Notify)]


async def test_typed_arguments_reach_the_command_without_being_reparsed(h: Harness) -> None:
    out = await run(h, typed("alice", "trio new", name='Les "Trois" #1 !vote'))
    assert isinstance(out[0], Reply) and not out[0].error
    async with h.core.db.read() as tx:
        assert await tx.value("SELECT name FROM trios") == 'Les "Trois" #1 !vote'
    listing = await run(h, typed("alice", "trio list"))
    assert "Les" in listing[0].text


@pytest.mark.parametrize(("name", "args", "error"), [
    ("vote", {"id": "abc", "vote": "yes"}, "is not a number"),
    ("vote", {"id": 1, "vote": "maybe"}, "is not one of"),
    ("vote", {"id": 1}, "needs"),
    ("trio new", {"colour": "red"}, "has no option"),
    ("trio nope", {}, "needs one more word"),
    ("nope", {}, "I don't know the command"),
    ("trio new", {"name": "x\u202ey"}, "invisible"),
])
async def test_typed_arguments_obey_the_same_rules_as_text(
        h: Harness, name: str, args: dict[str, object], error: str) -> None:
    out = await run(h, typed("alice", name, **args))  # type: ignore[arg-type]
    assert len(out) == 1 and isinstance(out[0], Reply) and out[0].error
    assert error in out[0].text


async def test_a_personal_invitation_offers_accept_and_decline_as_choices(h: Harness) -> None:
    await h.say("alice", "trio new Les Trois")
    await h.say("carol", "help")
    out = await h.say("alice", "trio invite @carol")
    invitation = next(e for e in out if isinstance(e, Notify) and e.to == "carol")
    labels = [c.label for c in invitation.choices]
    assert labels == ["Accept", "Decline"]
    accept = invitation.choices[0]
    assert accept.id == accept.command and accept.command.startswith("trio accept ")
    picked = await h.say("carol", accept.command)
    assert any("joined" in e.text for e in picked if isinstance(e, Reply))


async def test_a_notice_held_through_quiet_hours_keeps_its_choices(h: Harness) -> None:
    await h.say("alice", "trio new Les Trois")
    await h.say("carol", "timezone UTC")
    await h.say("carol", "quiet 08:00-20:00")  # the fake clock starts at 09:00 UTC
    out = await h.say("alice", "trio invite @carol")
    assert not [e for e in out if isinstance(e, Notify) and e.to == "carol"]
    released = await h.advance(timedelta(hours=12))
    invitation = next(e for e in released if isinstance(e, Notify) and e.to == "carol")
    assert [c.label for c in invitation.choices] == ["Accept", "Decline"]


async def test_each_pump_carries_only_its_own_platforms_effects(h: Harness) -> None:
    await h.core.handle([typed("alice", "help", "matrix"), typed("bob", "help", "fake")])
    fake = FakeCarrier()
    pump = Pump(h.core, fake, Bindings(h.core, "fake"))
    await pump.drain()
    assert [where for where, _ in fake.server.posted] == ["dm:bob"]
    left = await h.core.pending()
    assert len(left) == 1 and isinstance(left[0].effect, Reply) and left[0].effect.to == "alice"


async def test_a_trio_seats_only_accounts_of_its_own_platform(db_target: str | Path) -> None:
    h = await Harness.open(db_target)
    try:
        out = await run(h, typed("@alice:x", "trio new", "matrix", name="Les Trois"))
        code = code_in(out[0].text)
        refused = await run(h, typed("discord:7", "trio join", "discord", code=code))
        assert isinstance(refused[0], Reply) and refused[0].error
        assert "another platform" in refused[0].text
        joined = await run(h, typed("@bob:x", "trio join", "matrix", code=code))
        assert not getattr(joined[-1], "error", False)
    finally:
        await h.close()
