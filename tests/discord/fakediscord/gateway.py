"""The gateway websocket: HELLO, heartbeats, IDENTIFY/READY, RESUME with replay, dispatch.

Every session keeps its sequence number and a buffer of the events dispatched to it, also
while its socket is gone, so a RESUME replays what the client missed, as Discord does. A
session ends when the client closes with 1000/1001 or a resume is refused (op 9).

Shards. A session identified with ``shard: [id, count]`` holds the guilds whose
``(guild_id >> 22) % count`` is its id: READY and GUILD_CREATE name only those, and an
event about a guild (its ``guild_id``, or the guild itself for ``GUILD_*``) goes only to
the sessions holding it; an event about no guild (a direct message, a DM interaction)
goes to shard 0, as Discord sends it. A session without ``shard`` holds every guild.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSMsgType, web

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, REQUEST_MEMBERS = 0, 1, 2, 6, 8
INVALID_SESSION, HELLO, HEARTBEAT_ACK = 9, 10, 11
HEARTBEAT_INTERVAL_MS = 41250
BUFFER_LIMIT = 5000
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)

Json = dict[str, Any]


@dataclass
class Session:
    """A gateway session: what the client identified with and what it was sent."""

    id: str
    intents: int
    seq: int = 0
    buffer: list[Json] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None
    alive: bool = True
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    shard: tuple[int, int] = (0, 1)  # (id, count) it identified with; (0, 1): everything
    caller: str = "bot"  # the name of the token it identified with (see FakeDiscord.token_for)

    def holds(self, guild_id: int | None) -> bool:
        """Whether events about this guild (None: about no guild) go to this session."""
        shard, count = self.shard
        return shard == (0 if guild_id is None else shard_of(guild_id, count))

    def has(self, intent: int) -> bool:
        """Whether the session identified with this intent bit."""
        return bool(self.intents & intent)


def shard_of(guild_id: int, count: int) -> int:
    """The shard that holds a guild, by Discord's rule."""
    return (guild_id >> 22) % count


def guild_of(event: str, data: Json) -> int | None:
    """The guild an event is about, if any (the guild itself for GUILD_CREATE and the like)."""
    if event in ("GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"):
        return int(data["id"])
    found = data.get("guild_id")
    return None if found is None else int(found)


class GatewayHost(Protocol):
    """What the gateway needs from the server."""

    def caller_of(self, token: object) -> str | None:
        """The name of a bot token, None for a wrong one."""
        ...

    def ready_payload(self, session: Session) -> Json:
        """The READY event data for a new session."""
        ...

    def guild_payloads(self) -> list[Json]:
        """One GUILD_CREATE payload per guild the bot is in."""
        ...

    def member_chunk(self, request: Json) -> Json:
        """The GUILD_MEMBERS_CHUNK answering an op 8 request."""
        ...


Builder = Callable[[Session], Json | None]


class Gateway:
    """Serves the websocket and fans dispatched events out to the live sessions."""

    def __init__(self, host: GatewayHost) -> None:
        self.host = host
        self.sessions: dict[str, Session] = {}
        self.identified_intents: list[int] = []
        self.resumes = 0
        self.resume_paths: list[str] = []
        self.replayed: list[list[str]] = []
        self.fail_next_resume = False
        self.privileged_allowed = PRIVILEGED_INTENTS
        self.open_gate = asyncio.Event()
        self.open_gate.set()
        self._sockets: set[web.WebSocketResponse] = set()
        self._dropped: set[web.WebSocketResponse] = set()
        self.resumed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one websocket connection until it closes."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        session: Session | None = None
        try:
            await self.open_gate.wait()
            await self._send(ws, {"op": HELLO, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    session = await self._on_frame(ws, request.path, session, json.loads(msg.data))
        finally:
            self._sockets.discard(ws)
            self._forget(ws, session)
        return ws

    def _forget(self, ws: web.WebSocketResponse, session: Session | None) -> None:
        """Detach a closed socket; a clean client close ends the session."""
        dropped = ws in self._dropped
        self._dropped.discard(ws)
        if session is None or session.ws is not ws:
            return
        session.ws = None
        if not dropped and ws.close_code in (1000, 1001):
            session.alive = False

    async def _on_frame(self, ws: web.WebSocketResponse, path: str, session: Session | None,
                        frame: Json) -> Session | None:
        """Handle one opcode from the client."""
        op = frame.get("op")
        raw = frame.get("d")
        data: Json = raw if isinstance(raw, dict) else {}
        if op == HEARTBEAT:
            await self._send(ws, {"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            return await self._identify(ws, data)
        elif op == RESUME:
            return await self._resume(ws, path, data)
        elif op == REQUEST_MEMBERS and session is not None:
            await self.send_event(session, "GUILD_MEMBERS_CHUNK", self.host.member_chunk(data))
        return session

    async def _identify(self, ws: web.WebSocketResponse, data: Json) -> Session | None:
        """Start a session: READY, then one GUILD_CREATE per guild."""
        caller = self.host.caller_of(data.get("token"))
        shard = _shard(data.get("shard"))
        if caller is None or shard is None:
            await ws.close(code=4004 if caller is None else 4010,
                           message=b"Authentication failed." if caller is None else b"Invalid shard.")
            return None
        intents = int(data.get("intents", 0))
        self.identified_intents.append(intents)
        if intents & PRIVILEGED_INTENTS & ~self.privileged_allowed:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return None
        session = Session(id=secrets.token_hex(16), intents=intents, ws=ws, shard=shard,
                          caller=caller)
        self.sessions[session.id] = session
        await self.send_event(session, "READY", self.host.ready_payload(session))
        for guild in self.host.guild_payloads():
            if session.holds(int(guild["id"])):
                await self.send_event(session, "GUILD_CREATE", guild)
        return session

    async def _resume(self, ws: web.WebSocketResponse, path: str, data: Json) -> Session | None:
        """Reattach a session and replay what it missed, or refuse with op 9."""
        session = self.sessions.get(str(data.get("session_id")))
        refuse = self.fail_next_resume or session is None or not session.alive
        self.fail_next_resume = False
        if session is None or refuse or self.host.caller_of(data.get("token")) != session.caller:
            if session is not None:
                session.alive = False
            await self._send(ws, {"op": INVALID_SESSION, "d": False})
            return None
        self.resumes += 1
        self.resume_paths.append(path)
        async with session.lock:
            old, session.ws = session.ws, ws
            seq = int(data.get("seq") or 0)
            missed = [frame for frame in session.buffer if frame["s"] > seq]
            self.replayed.append([frame["t"] for frame in missed])
            for frame in missed:
                await self._send(ws, frame)
        if old is not None and old is not ws:
            await old.close(code=4000)
        await self.send_event(session, "RESUMED", {})
        self.resumed.set()
        return session

    async def dispatch(self, event: str, build: Builder) -> None:
        """Send an event to every live session holding its guild, shaped per session (None
        skips it)."""
        for session in list(self.sessions.values()):
            if not session.alive:
                continue
            data = build(session)
            if data is not None and session.holds(guild_of(event, data)):
                await self.send_event(session, event, data)

    async def send_event(self, session: Session, event: str, data: Json) -> None:
        """Number, buffer and (if connected) send one event."""
        async with session.lock:
            session.seq += 1
            frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
            session.buffer.append(frame)
            del session.buffer[:-BUFFER_LIMIT]
            if session.ws is not None:
                await self._send(session.ws, frame)

    async def _send(self, ws: web.WebSocketResponse, frame: Json) -> None:
        """Send a frame as a text message, ignoring a socket that is going away."""
        frame.setdefault("s", None)
        frame.setdefault("t", None)
        if ws.closed:
            return
        try:
            await ws.send_str(json.dumps(frame))
        except (ConnectionResetError, RuntimeError):
            return

    async def drop(self, code: int | None = 4000) -> int:
        """Close every connected socket as a network failure would; sessions stay resumable."""
        sockets = list(self._sockets)
        for ws in sockets:
            self._dropped.add(ws)
            if code is None:
                await ws.close()
            else:
                await ws.close(code=code)
        return len(sockets)

    async def close(self) -> None:
        """Close every socket for good."""
        for ws in list(self._sockets):
            await ws.close(code=1001)


def _shard(given: object) -> tuple[int, int] | None:
    """The ``[id, count]`` of an IDENTIFY, (0, 1) when absent; None when invalid."""
    if given is None:
        return (0, 1)
    if (not isinstance(given, list) or len(given) != 2
            or not all(isinstance(n, int) for n in given)):
        return None
    shard, count = given
    return (shard, count) if 0 <= shard < count else None

