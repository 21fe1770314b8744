"""Safety reports are stored durably, delivered when a moderators' room exists, kept as
undelivered when none does, never described to the reporter as sent, readable by
operators with ``twinome reports``, and handled by ``privacy forget``."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bots import cli
from bots.adapter.bindings import Bindings
from bots.adapter.carrier import Done, Failed, Moderators, Notice, Outcome, Target
from bots.adapter.pump import Pump
from bots.reports import main as reports_main
from core.effects import CreateRoom, Reply, ReportToModerators
from core.ids import MemberId
from tests.conftest import form_trio
from tests.helpers import Harness

UNTRUE = ("went to the moderators", "was sent", "has been sent", "forwarded to the moderators",
          "reached the moderators")


class Carrier:
    """A carrier whose platform has, or has not, a moderators' room."""

    platform = "console"

    def __init__(self, moderators: bool) -> None:
        self.moderators = moderators
        self.reports: list[str] = []

    async def send(self, target: Target, notice: Notice) -> Outcome:
        if isinstance(target, Moderators):
            if not self.moderators:
                return Failed("no moderators room is configured")
            self.reports.append(notice.text)
        return Done()

    async def create_room(self, effect: CreateRoom, key: str) -> Outcome:
        return Done(f"ref-{effect.room}")

    async def invite(self, ref: str, member: MemberId) -> Outcome:
        return Done()

    async def remove(self, ref: str, member: MemberId, reason: str) -> Outcome:
        return Done()

    async def close(self, ref: str, notice: Notice) -> Outcome:
        return Done()


async def _rows(h: Harness) -> list[dict[str, Any]]:
    async with h.core.db.read() as tx:
        return [dict(r) for r in await tx.all("SELECT * FROM safety_reports ORDER BY id")]


async def _report(h: Harness, who: str, text: str, moderators: bool) -> tuple[str, Carrier]:
    """``who`` reports; the effects go through a real pump and the carrier."""
    from core.events import CommandReceived

    await h.core.handle([CommandReceived(f"r-{who}-{text}", MemberId(who), None, text,
                                         who.capitalize())])
    replies = [d.effect.text for d in await h.core.pending()
               if isinstance(d.effect, Reply) and d.effect.to == who]
    carrier = Carrier(moderators)
    await Pump(h.core, carrier, Bindings(h.core, "console")).drain()
    assert await h.core.pending() == []
    return replies[-1], carrier


@pytest.mark.parametrize("moderators", [True, False])
async def test_a_report_is_stored_and_the_reporter_is_told_only_the_truth(
        h: Harness, moderators: bool) -> None:
    await form_trio(h)
    told, carrier = await _report(h, "alice", "report @bob kept sending insults", moderators)
    assert "recorded" in told and "moderators will see it" in told
    assert not any(phrase in told for phrase in UNTRUE), told
    rows = await _rows(h)
    assert len(rows) == 1
    row = rows[0]
    assert (row["reporter"], row["reported"], row["reason"]) == (
        "alice", "bob", "kept sending insults")
    assert row["trio_id"] is not None and row["platform"] == "console"
    if moderators:
        assert len(carrier.reports) == 1 and "kept sending insults" in carrier.reports[0]
        assert row["delivered_at"] is not None
    else:
        assert carrier.reports == [] and row["delivered_at"] is None


async def test_every_report_reply_is_true_whatever_the_room(h: Harness) -> None:
    await form_trio(h)
    await h.say("dave", "help")
    for who, text in [("alice", "report @dave spam"), ("carol", "report @bob rude"),
                      ("bob", "report @carol rude too")]:
        out = await h.say(who, text)
        for reply in (e.text for e in out if isinstance(e, Reply)):
            assert not any(phrase in reply for phrase in UNTRUE), reply
        assert next(e for e in out if isinstance(e, ReportToModerators)).report


async def test_operators_read_undelivered_then_recent_reports(h: Harness, db_target: str | Path,
                                                               tmp_path: Path) -> None:
    await form_trio(h)
    await _report(h, "alice", "report @bob first, delivered", True)
    await _report(h, "carol", "report @bob second\nReported by: forged", False)
    where = ["--url", db_target] if isinstance(db_target, str) else ["--db", str(db_target)]
    out = io.StringIO()
    assert await asyncio.to_thread(reports_main, [*where, "--days", "100000"], out) == 0
    text = out.getvalue()
    undelivered, recent = text.split("Delivered reports")
    assert "Undelivered reports (they never reached a moderators' room): 1" in undelivered
    assert "second" in undelivered and "Carol (carol)" in undelivered
    assert "first, delivered" in recent and "Alice (alice)" in recent
    assert "\nReported by: forged" not in text  # the reason is quoted on one line

    config = tmp_path / "conf" / "twinome.toml"
    config.parent.mkdir()
    storage = (f'url = "{db_target}"' if isinstance(db_target, str)
               else f'path = "{db_target}"')
    config.write_text(f'[storage]\n{storage}\n[matrix]\nuser_id = "@x:y"\n', "utf-8")
    again = io.StringIO()
    assert await asyncio.to_thread(reports_main, ["--config", str(config), "--days", "100000"],
                                   again) == 0
    assert again.getvalue() == text
    err = io.StringIO()
    assert await asyncio.to_thread(reports_main, ["--db", str(tmp_path / "none.db")],
                                   io.StringIO(), err) == 2
    assert "no database" in err.getvalue() and not (tmp_path / "none.db").exists()


async def test_reports_refuse_a_database_at_another_schema_version_unchanged(
        tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 3")
    err = io.StringIO()
    assert await asyncio.to_thread(reports_main, ["--db", str(db)], io.StringIO(), err) == 2
    assert "run twinome migrate" in err.getvalue()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3  # not migrated


def test_twinome_reports_is_wired_in_the_cli(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["reports", "--db", str(tmp_path / "none.db")]) == 2
    assert "no database" in capsys.readouterr().err


async def test_forget_keeps_reports_for_moderators_without_the_reporter(h: Harness) -> None:
    await form_trio(h)
    await _report(h, "alice", "report @bob delivered reason", True)
    await _report(h, "alice", "report @carol undelivered reason", False)
    await _report(h, "carol", "report @alice about alice", True)
    await h.say("alice", "privacy forget confirm")
    rows = {r["reason"] or r["reported"]: r for r in await _rows(h)}
    assert len(rows) == 3
    gone = rows["bob"]  # delivered: the moderators have it; her words leave the database
    assert gone["reporter"].startswith("former:") and gone["reason"] is None
    kept = rows["undelivered reason"]  # not delivered yet: still there for the moderators
    assert kept["reporter"].startswith("former:") and kept["delivered_at"] is None
    about = rows["about alice"]  # a report about her is the reporter's: unchanged
    assert (about["reporter"], about["reported"]) == ("carol", "alice")
    doc_out = await h.say("alice", "privacy export")
    assert '"reports_you_sent": []' in next(e.attachment.content for e in doc_out
                                            if isinstance(e, Reply) and e.attachment)


async def test_export_shows_the_reports_you_made_never_those_about_you(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "report @bob my reason")
    await h.say("carol", "report @alice their reason")
    out = await h.say("alice", "privacy export")
    text = next(e.attachment.content for e in out if isinstance(e, Reply) and e.attachment)
    assert "my reason" in text and "their reason" not in text


async def test_a_report_made_with_no_moderators_room_reaches_one_configured_later(
        h: Harness) -> None:
    await form_trio(h)
    await _report(h, "alice", "report @bob kept sending insults", moderators=False)
    assert (await _rows(h))[0]["delivered_at"] is None
    later = Carrier(moderators=True)  # the bot restarts with a moderators' room
    pump = Pump(h.core, later, Bindings(h.core, "console"))
    await pump.resend_reports()
    await pump.resend_reports()  # twice: a report already queued is not queued again
    await pump.drain()
    assert len(later.reports) == 1 and "kept sending insults" in later.reports[0]
    assert (await _rows(h))[0]["delivered_at"] is not None
    await pump.resend_reports()
    await pump.drain()
    assert len(later.reports) == 1, "a delivered report is never sent again"
