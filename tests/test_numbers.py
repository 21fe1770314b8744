"""Every number a person types gets an answer: out of range is a clear error, never a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.effects import Reply
from core.errors import ParseError
from core.textrules import parse_duration
from tests.conftest import form_trio
from tests.helpers import Harness

HUGE = "99999999999999999999"
SORRY = "went wrong"

# Every command path that reads a number, a duration or a date, fed values far out of range.
NUMERIC_COMMANDS = [
    f"away for {HUGE}d",
    f"away for {HUGE}w",
    f"away for 1h{HUGE}",
    "away until 0001-01-01",
    "away until 9999-12-31",
    "away until 99999-01-01",
    f"trio settings patience {HUGE}h",
    f"trio settings proposal_expiry {HUGE}m",
    f'session log @bob "bread baking" {HUGE}m',
    f'session log @bob "bread baking" 1h{HUGE}',
    f"session confirm {HUGE}",
    f"session confirm #{HUGE}",
    f"vote {HUGE} yes",
    f"vote #{HUGE} yes",
    f"mentor accept {HUGE}",
    f"mentor end {HUGE}",
    f"quiet {HUGE}:00-08:00",
    f"quiet 22:{HUGE}-08:00",
    f"trio join {HUGE}",
    f"trio revoke {HUGE}",
    f"trio info #{HUGE}",
]


@pytest.mark.parametrize("command", NUMERIC_COMMANDS)
async def test_out_of_range_numbers_get_a_clear_error(h: Harness, command: str) -> None:
    await form_trio(h)
    await h.say("bob", 'mentor ask @alice "bread baking"')
    await h.say("alice", "mentor accept")
    await h.say("alice", "timezone Europe/Paris")
    out = await h.say("alice", command)
    errors = [e for e in out if isinstance(e, Reply) and e.error]
    assert len(errors) == 1, out
    assert SORRY not in errors[0].text, (command, errors[0].text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10**30), st.sampled_from(["w", "d", "h", "m", "min"])),
                min_size=1, max_size=3))
def test_parse_duration_returns_in_bounds_or_says_why(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{n}{unit}" for n, unit in parts)
    least, most = timedelta(minutes=5), timedelta(days=30)
    try:
        delta = parse_duration(text, least=least, most=most, what="duration")
    except ParseError as err:
        assert "out of range" in err.message
        return
    assert least <= delta <= most


@pytest.mark.parametrize("number", ["¹", "²3", "٣", "1½", "0x1F"])
async def test_numbers_in_other_scripts_are_refused_plainly(h: Harness, number: str) -> None:
    out = await h.say("alice", f"session confirm {number}")
    errors = [e for e in out if isinstance(e, Reply) and e.error]
    assert len(errors) == 1 and SORRY not in errors[0].text, out
