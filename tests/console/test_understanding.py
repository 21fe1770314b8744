"""The console understands what people naturally type, played from a script."""

from __future__ import annotations

from pathlib import Path

from tests.console.scenario import dm, kinds, no_failures, play, script, texts


async def test_natural_forms_are_understood(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", script("understanding.txt"))
    no_failures(p.records)
    for line in ("dave: hi", "dave: how do I start a trio?", "alice: hello",
                 "alice: Help me please"):
        shown = p.after(line)
        assert not kinds(shown, "error"), line
        assert "help" in texts(shown), line
    assert "Twinome" in texts(p.after("dave: hi")) and "trio join" in texts(p.after("dave: hi"))
    assert "Did you mean !turn?" in texts(kinds(p.after("alice: trun"), "error"))

    away = p.after("alice: away 2d")
    assert len(dm(away, "bob")) == 1 and len(dm(away, "carol")) == 1
    assert "“2d”" not in texts(away) and "until" in texts(dm(away, "bob"))
    retry = p.after("alice: away 2 days")
    assert not dm(retry, "bob") and not dm(retry, "carol")  # told once
    assert "“on holiday”" in texts(dm(p.after("bob: away 1w on holiday"), "alice"))
    asked = p.after("carol: away 3")
    assert kinds(asked, "error") and not dm(asked, "alice") and not dm(asked, "bob")
    holidays = dm(p.after("carol: away for a week, holidays"), "alice")
    assert "“holidays”" in texts(holidays) and "until" in texts(holidays)

    for line in ("alice: quiet 22h-8h", "bob: quiet 22-8"):
        assert "22:00–08:00" in texts(p.after(line)), line
    assert "Europe/Paris" in texts(p.after("bob: timezone Paris"))
    assert "UTC+1 all year" in texts(p.after("carol: timezone UTC+1"))

    assert not kinds(p.after("alice: turn #deuxieme-trio"), "error")
    assert "Did you mean #les-copains?" in texts(p.after("alice: turn #les-copain"))
    assert not kinds(p.after("bob: vote 1 oui"), "error")
    assert "validated" in texts(p.after("carol: vote 1 oui")).casefold()
    mentor = p.after("bob@trio-1: !mentor ask @alice bread baking")
    assert not kinds(mentor, "error") and "bread baking" in texts(mentor)
