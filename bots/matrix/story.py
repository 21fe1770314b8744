"""The demo's short trio life, played by three real encrypted clients against the bot."""

from __future__ import annotations

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


def step(title: str) -> None:
    """Print a step of the story."""
    print(f"\n== {title}", flush=True)


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
    step("Everyone opens a direct chat with the bot")
    for person in (alice, bob, carol):
        await person.open_dm()
        print(f"  {person.name} is in a direct chat with the bot", flush=True)
    step("Alice starts a trio and shares the code with Bob")
    code = _code(await command(alice, f"trio new {TRIO}"))
    await command(bob, f"trio join {code}")
    step("Alice invites Carol directly; Carol is asked in her direct chat and accepts")
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
    step("Private messages in the pair lines; Alice writes twice before Bob answers")
    await write(alice, bob, rooms["ab"], "Hello Bob! How was the concert?")
    await write(alice, bob, rooms["ab"], "And did the rehearsal go well?")
    await alice.expect(containing("not answered yet", alice.dm))
    await write(bob, alice, rooms["ab"], "It was great, thanks! The rehearsal too.")
    await write(carol, alice, rooms["ac"], "Hi Alice, shall we talk about bread baking?")
    step("Who owes whom a reply?")
    await command(alice, "turn")

    step("Mentoring barter: Carol recognises Alice as her mentor; a session is confirmed")
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

    step("A hard time: Alice asks for support; only Bob and Carol see it, in their own line")
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
    return rooms
