"""The demo's short trio life, played by three real encrypted clients against the bot."""

from __future__ import annotations

import asyncio
import re
import textwrap
from collections.abc import Callable

from bots.matrix.people import Person, Seen

CODE = re.compile(r"\b[A-Z2-9]{4}(?:-[A-Z2-9]{4}){3}\b")
TRIO = "Les Trois"


def show(seen: Seen) -> None:
    """Print what one person just received."""
    who = "the bot" if seen.notice else seen.sender.split(":")[0].lstrip("@")
    head = f"    {seen.person} sees, in {seen.where}, from {who}: "
    body = textwrap.indent(seen.body, " " * 8).lstrip()
    print(head + body, flush=True)


QUIET = 1.0  # seconds with nothing received: the last step's notices have all arrived


async def step(title: str, *people: Person, within: float = 15.0) -> None:
    """Print a step of the story once what the last one caused has been shown under it."""
    await settled(people, within)
    print(f"\n== {title}", flush=True)


async def settled(people: tuple[Person, ...], within: float) -> None:
    """Wait until no one has received anything for :data:`QUIET` seconds (or ``within``)."""
    counts: list[int] | None = None
    for _ in range(max(1, round(within / QUIET))):
        now = [len(p.seen) for p in people]
        if now == counts:
            return
        counts = now
        await asyncio.sleep(QUIET)


def typed(person: Person, text: str, where: str = "their direct chat with the bot") -> None:
    print(f"  {person.name} types in {where}: {text}", flush=True)


def _code(seen: Seen) -> str:
    found = CODE.search(seen.body)
    if found is None:
        raise RuntimeError(f"no invite code in the bot's answer: {seen.body!r}")
    return found.group(0)


def containing(text: str, room_id: str | None = None) -> Callable[[Seen], bool]:
    """A matcher for messages with ``text`` (in one room, if given)."""
    return lambda s: text in s.body and (room_id is None or s.room_id == room_id)


async def command(person: Person, text: str, room_id: str | None = None) -> Seen:
    """Type a command and wait for the bot's reply to it."""
    typed(person, text, person.where(room_id) if room_id else "their direct chat with the bot")
    return await person.ask(text, room_id)


async def post_after(person: Person, text: str, room_id: str, expected: str) -> None:
    """Type a command the bot answers with a notice to the whole room, and wait for it."""
    typed(person, text, person.where(room_id))
    await person.say(text, room_id)
    await person.expect(containing(expected, room_id))


async def write(person: Person, other: Person, room_id: str, text: str) -> None:
    """Write in a line and wait until the other member has read it."""
    typed(person, text, person.where(room_id))
    await person.say(text, room_id)
    await other.expect(lambda s: s.body == text and s.room_id == room_id)


async def joined_room(person: Person, name: str) -> None:
    """Wait until ``person`` is in the room called ``name``."""

    def there() -> bool:
        return person.room_named(name) is not None

    await person.until(there)


async def form(alice: Person, bob: Person, carol: Person) -> dict[str, str]:
    """Alice starts the trio, Bob joins by code, Carol is invited directly and accepts."""
    trio = (alice, bob, carol)
    await step("Everyone opens a direct chat with the bot", *trio)
    for person in (alice, bob, carol):
        await person.open_dm()
        print(f"  {person.name} is in a direct chat with the bot", flush=True)
    await step("Alice starts a trio and shares the code with Bob", *trio)
    code = _code(await command(alice, f"trio new {TRIO}"))
    await command(bob, f"trio join {code}")
    await step("Alice invites Carol directly; Carol is asked in her direct chat and accepts", *trio)
    await command(alice, "trio invite @carol")
    await carol.expect(containing("invites you", carol.dm))
    await command(carol, "trio accept")
    pairs = {"trio": TRIO, "ab": f"{TRIO}: Alice + Bob", "ac": f"{TRIO}: Alice + Carol",
             "bc": f"{TRIO}: Bob + Carol"}
    members = {"trio": (alice, bob, carol), "ab": (alice, bob), "ac": (alice, carol),
               "bc": (bob, carol)}
    found: dict[str, str] = {}
    for key, name in pairs.items():
        for person in members[key]:
            await joined_room(person, name)
        room_id = members[key][0].room_named(name)
        assert room_id is not None
        found[key] = room_id
    await alice.expect(containing("is complete", found["trio"]))
    return found


async def live(alice: Person, bob: Person, carol: Person, rooms: dict[str, str]) -> None:
    """Private messages, a relance, turn, a mentoring session, an SOS."""
    trio = (alice, bob, carol)
    await step("Private messages in the pair lines; Alice writes twice before Bob answers", *trio)
    await write(alice, bob, rooms["ab"], "Hello Bob! How was the concert?")
    await write(alice, bob, rooms["ab"], "And did the rehearsal go well?")
    await alice.expect(containing("not answered yet", alice.dm))
    await write(bob, alice, rooms["ab"], "It was great, thanks! The rehearsal too.")
    await write(carol, alice, rooms["ac"], "Hi Alice, shall we talk about bread baking?")
    await step("Who owes whom a reply?", *trio)
    await command(alice, "turn")

    await step("Mentoring barter: Carol recognises Alice as her mentor; a session is confirmed",
               *trio)
    await command(alice, "offer bread baking")
    await command(carol, '!mentor ask @alice "bread baking"', rooms["trio"])
    await command(alice, "mentor accept")
    logged = await command(alice, '!session log @carol "bread baking" 1h30 sourdough starter',
                           rooms["trio"])
    number = re.search(r"session (\d+)", logged.body)
    assert number is not None, logged.body
    await carol.expect(containing("logged session"))
    await command(carol, f"!session confirm {number.group(1)}", rooms["trio"])
    await command(bob, "!ledger", rooms["trio"])

    await step("A hard time: Alice asks for support; only Bob and Carol see it, in their own "
               "line", *trio)
    await command(alice, "sos rough week at work")
    await bob.expect(containing("hard time", rooms["bc"]))
    await carol.expect(containing("hard time", rooms["bc"]))
    await post_after(bob, "!plan I will call you on Sunday evening", rooms["bc"], "Step 1")
    await post_after(carol, "!plan ready", rooms["bc"], "thinks the plan")
    await post_after(bob, "!plan ready", rooms["bc"], "is ready")
    await alice.expect(containing("prepared a support plan for you", alice.dm))


async def play(alice: Person, bob: Person, carol: Person) -> dict[str, str]:
    """The whole story; returns the trio's rooms."""
    rooms = await form(alice, bob, carol)
    await live(alice, bob, carol, rooms)
    await settled((alice, bob, carol), within=15.0)  # the last notices, before the summary
    return rooms
