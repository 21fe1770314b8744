"""The service layer: exactly once, outbox, friendly errors."""

from __future__ import annotations

from pathlib import Path

from core.effects import Reply
from core.events import CommandReceived
from core.ids import MemberId
from tests.conftest import form_trio
from tests.helpers import Harness


async def test_an_event_is_applied_once(h: Harness) -> None:
    event = CommandReceived("same-id", MemberId("alice"), None, "trio new Once")
    await h.core.handle([event])
    await h.core.handle([event])
    async with h.core.db.transaction() as tx:
        assert await tx.value("SELECT count(*) FROM trios") == 1
    assert len(await h.core.pending()) == 1


async def test_outbox_survives_a_restart(db_target: str | Path) -> None:
    path = db_target
    first = await Harness.open(path)
    await first.core.handle([CommandReceived("e1", MemberId("alice"), None, "help")])
    await first.close()  # the adapter died before carrying the reply out
    second = await Harness.open(path)
    pending = await second.core.pending()
    assert [type(p.effect) for p in pending] == [Reply]
    await second.core.done([p.id for p in pending])
    assert await second.core.pending() == []
    await second.close()


async def test_unknown_command_gets_did_you_mean(h: Harness) -> None:
    out = await h.say("alice", "trio nwe")
    assert len(out) == 1 and isinstance(out[0], Reply) and out[0].error
    assert "Did you mean !trio new?" in out[0].text


async def test_a_failing_command_changes_nothing(h: Harness) -> None:
    await h.say("alice", "trio new A")
    out = await h.say("alice", "trio settings patience 99d")
    assert out[0].text.startswith("A patience of")
    info = (await h.say("alice", "trio info"))[0].text
    assert "patience 3d" in info


async def test_a_malformed_private_command_is_answered_privately(h: Harness) -> None:
    out = await h.say("alice", "vote abc yes", room=1)
    assert len(out) == 1 and isinstance(out[0], Reply)
    assert out[0].error and out[0].private
    out = await h.say("alice", "trio info #nowhere extra", room=None)
    assert isinstance(out[0], Reply) and out[0].error and not out[0].private


async def test_an_error_in_a_shared_room_is_private_to_its_author(h: Harness) -> None:
    await form_trio(h)
    for text in ("mentor ask @bob cooking", "turn extra words", "trio jion"):
        out = await h.say("bob", text, room=1)
        assert len(out) == 1 and isinstance(out[0], Reply) and out[0].to == "bob"
        assert out[0].error and out[0].private, text
    free = await h.say("bob", "nonsense", room=1)  # free text: a kind pointer, privately too
    assert len(free) == 1 and isinstance(free[0], Reply) and free[0].private


async def test_old_event_ids_are_pruned_daily(h: Harness) -> None:
    from datetime import timedelta

    await h.say("alice", "help")
    await h.advance(timedelta(hours=1))  # plants the daily housekeeping job
    async with h.core.db.transaction() as tx:
        assert await tx.value("SELECT count(*) FROM processed_events") == 1
    await h.advance(timedelta(days=9))
    async with h.core.db.transaction() as tx:
        assert await tx.value("SELECT count(*) FROM processed_events") == 0
        assert await tx.value("SELECT count(*) FROM jobs WHERE kind = 'prune'") == 1


async def test_a_display_name_with_a_lone_surrogate_is_stored_readably(h: Harness) -> None:
    await h.core.handle([CommandReceived("s1", MemberId("zoe"), None, "help", "Zo\ud800e")])
    async with h.core.db.transaction() as tx:
        assert await tx.value("SELECT display_name FROM members WHERE id = 'zoe'") == "Zo?e"


async def test_done_soon_rows_go_with_the_next_write_or_on_their_own(h_sqlite: Harness) -> None:
    """A reply its adapter carried out is deleted by the next write transaction (no write of
    its own), or after DONE_WAIT when none comes; flush_done deletes at once (counted
    where one process writes, SQLite's ``Database.writes``)."""
    h = h_sqlite
    import asyncio

    from core import service

    async def reply_to(text: str) -> int:
        event = f"soon-{h.core.db.writes}"
        applied = await h.core.handle([CommandReceived(event, MemberId("alice"), None, text)])
        return applied.replies[0].id

    await h.core.done_soon([await reply_to("help")])  # at first it checks for a scrub: at once
    assert await h.core.pending() == []
    first = await reply_to("help")
    writes = h.core.db.writes
    await h.core.done_soon([first])
    assert first in [d.id for d in await h.core.pending()]  # not yet: nothing wrote
    second = await reply_to("trio list")
    assert h.core.db.writes == writes + 1  # the command's own transaction, nothing else
    assert [d.id for d in await h.core.pending()] == [second]
    await h.core.done_soon([second])
    await asyncio.sleep(service.DONE_WAIT * 4)  # no write came: deleted on their own
    assert await h.core.pending() == []
    third = await reply_to("help")
    await h.core.done_soon([third])
    await h.core.flush_done()
    assert await h.core.pending() == []
