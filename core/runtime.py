"""The runtime every adapter shares: one writer with group commit, and a scheduler.

Theory of operation. Adapters call :meth:`Runtime.submit` from any number of tasks. Each
call queues its events with a future and waits. One writer task takes *everything*
queued at that moment and applies it with one :meth:`Twinome.handle` call: one
transaction, one commit (group commit). Then it resolves every waiting future, so a
submitter learns its events are durable only once they are. An idle writer applies a
lone event at once; under a burst, events pile up while the previous batch commits and
go together in the next one, so the number of commits stays small.

Due jobs go through the same writer (:meth:`fire_due`), so jobs and events never race.
The scheduler task sleeps until the nearest due job (read from the database, so jobs
planted before a restart fire after it) and is woken early when a batch schedules a job
earlier than that one (not for every later one: a busy line plants reminders all the
time), or when :meth:`wake` is called (a test that moved a fake clock). It never
sleeps more than :data:`MAX_SLEEP`, so a wall clock that jumps is caught up.

After a batch wrote effects the writer calls the ``on_effects`` listeners (the delivery
pumps of the adapters), which then read the outbox. Each submitter also gets the replies
to its own events, as outbox rows (``Applied.replies``): an adapter that must answer
quickly (a Discord interaction) carries them out itself, and says so (``carries``): a
batch whose only effects are such replies wakes no listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from core.effects import Reply
from core.events import Event
from core.service import Applied, Twinome

log = logging.getLogger("twinome.runtime")

MAX_BATCH = 1000  # events applied in one transaction at most
MAX_SLEEP = 60.0  # seconds the scheduler sleeps at most between two looks at the jobs
TAKEN_WAIT = 0.05  # seconds before looking again at due jobs another process took
_NONE: frozenset[str] = frozenset()


class _Work:
    """Events waiting for the writer (empty: a request to fire due jobs), and who waits."""

    __slots__ = ("carries", "done", "events")

    def __init__(self, events: Sequence[Event], carries: bool,
                 done: asyncio.Future[Applied]) -> None:
        self.events = events
        self.carries = carries  # the submitter carries out the replies itself
        self.done = done


class Runtime:
    """Applies events from many tasks in few transactions, and fires jobs when due."""

    def __init__(self, core: Twinome, *, max_batch: int = MAX_BATCH) -> None:
        self.core = core
        self.max_batch = max_batch
        self._queue: list[_Work] = []
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._listeners: list[Callable[[], None]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._target: datetime | None = None  # the due job the scheduler sleeps until
        self._applying = False  # a batch is being applied now
        self.batches = 0  # transactions committed (for tests and benchmarks)
        self.looks = 0  # times the scheduler read the next due job (for tests)

    def on_effects(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (cheap, synchronous) after each commit that wrote effects."""
        self._listeners.append(listener)

    async def start(self, *, scheduler: bool = True) -> None:
        """Start the writer (and the scheduler, unless the caller drives time itself), the
        lines written in last known first (see :meth:`Twinome.know_lines`; a failure there
        only makes first messages slower)."""
        try:
            known = await self.core.know_lines()
        except Exception:
            log.warning("could not read the lines written in last", exc_info=True)
        else:
            if known:
                log.info("knows the %d lines written in last", known)
        self._tasks.append(asyncio.create_task(self._write_loop(), name="twinome-writer"))
        if scheduler:
            self._tasks.append(asyncio.create_task(self._schedule_loop(),
                                                   name="twinome-scheduler"))

    async def stop(self) -> None:
        """Stop the scheduler, then the writer; work not yet taken fails with CancelledError."""
        self._stopping = True
        for task in reversed(self._tasks):  # the scheduler first: it may be feeding the writer
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for work in self._queue:
            work.done.cancel()
        self._queue.clear()
        self._stopping = False
        self._target = None

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def submit(self, event: Event) -> Applied:
        """Apply one event; returns once it is durable (``fresh`` holds its id if it was new)."""
        return await self._enqueue((event,), False)

    async def submit_many(self, events: Iterable[Event], *, carries: bool = False) -> Applied:
        """Apply events together, in order; returns once they are durable.

        ``carries``: the caller carries out the replies handed back itself, so they alone
        do not wake the ``on_effects`` listeners.
        """
        return await self._enqueue(tuple(events), carries)

    async def fire_due(self) -> Applied:
        """Run the jobs due now, through the writer."""
        return await self._enqueue((), False)

    def wake(self) -> None:
        """Have the scheduler look at the jobs again now (after a clock moved, say)."""
        self._wake.set()

    @property
    def idle(self) -> bool:
        """Whether no submitted work waits or is being applied: a read now sees every
        event submitted so far (an adapter answering from a read checks it first, so a
        message followed by ``turn`` is counted in the answer)."""
        return not self._queue and not self._applying

    async def _enqueue(self, events: Sequence[Event], carries: bool) -> Applied:
        if not self._tasks or self._tasks[0].done() or self._stopping:
            raise RuntimeError("the runtime is not running")
        done: asyncio.Future[Applied] = asyncio.get_running_loop().create_future()
        self._queue.append(_Work(events, carries, done))
        self._ready.set()
        return await done

    async def _write_loop(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._queue:
                self._applying = True
                try:
                    await self._apply(self._take())
                finally:
                    self._applying = False

    def _take(self) -> list[_Work]:
        """The queued work for one transaction: a run of events, or one request for jobs."""
        queue = self._queue
        if not queue[0].events:
            return [queue.pop(0)]
        count = 0
        for end, work in enumerate(queue):  # a run of events, up to max_batch (one at least)
            count += len(work.events)
            if not work.events or (end and count > self.max_batch):
                break
        else:
            end = len(queue)
        taken, self._queue = queue[:end], queue[end:]
        return taken

    async def _apply(self, taken: list[_Work]) -> None:
        events = [event for work in taken for event in work.events]
        try:
            applied = await (self.core.handle(events) if events else self.core.fire_due())
        except Exception as err:  # the transaction rolled back: nothing of it is durable
            log.exception("a batch of %d events failed and was rolled back", len(events))
            for work in taken:
                if not work.done.done():
                    work.done.set_exception(err)
            return
        self.batches += 1
        claimed: set[str] = set()  # the same id submitted twice in one batch counts once
        unattended = applied.effects  # effects no submitter carries out itself
        fresh, effects, earliest = applied.fresh, applied.effects, applied.earliest_job
        for work in taken:  # a hundred submitters wait on a busy batch: this stays lean
            if len(work.events) == 1:  # the usual case: one event, seen now or before
                event_id = work.events[0].event_id
                mine = frozenset((event_id,)) if event_id in fresh and event_id not in claimed \
                    else _NONE
                claimed.add(event_id)
            else:
                mine = frozenset(e.event_id for e in work.events
                                 if e.event_id in fresh and e.event_id not in claimed)
                claimed.update(mine)
            replies = tuple(d for d in applied.replies
                            if isinstance(d.effect, Reply) and d.effect.in_reply_to in mine
                            ) if applied.replies and mine else ()
            if work.carries:
                unattended -= len(replies)
            if not work.done.done():
                work.done.set_result(Applied(mine, effects, earliest, replies, applied.fired))
        if unattended:
            for listener in self._listeners:
                listener()
        job = applied.earliest_job
        if job is not None and (self._target is None or job < self._target):
            self._wake.set()  # sooner than the scheduler planned to look

    async def _schedule_loop(self) -> None:
        failures = 0
        while True:
            try:
                await self._schedule_once()
                failures = 0
            except Exception:  # the database was unreachable for long, say: the jobs wait
                failures += 1
                log.exception("the scheduler could not look at the jobs; trying again")
                await self._sleep(min(2.0 ** failures, MAX_SLEEP))

    async def _schedule_once(self) -> None:
        """One look at the jobs: fire those due, else sleep until the nearest one."""
        self._wake.clear()  # before reading: a job planted from now on wakes us again
        self._target = None
        due = await self.core.next_due()
        self.looks += 1
        self._target = due
        now = self.core.clock.now()
        if due is not None and due <= now:
            if not (await self.fire_due()).fired:  # another process runs them now
                await self._sleep(TAKEN_WAIT)
            return
        await self._sleep(MAX_SLEEP if due is None else (due - now).total_seconds())

    async def _sleep(self, seconds: float) -> None:
        """Sleep up to ``seconds`` (capped), or until woken."""
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(min(max(seconds, 0.0), MAX_SLEEP)):
                await self._wake.wait()

