"""Starting and stopping real discord.py clients against the fake server."""

from __future__ import annotations

import asyncio
import contextlib

import discord


async def start_client(client: discord.Client, token: str, within: float = 5.0) -> asyncio.Task[None]:
    """Run `client.start(token)` in a task and wait until the client is ready."""
    task = asyncio.create_task(client.start(token))
    ready = asyncio.create_task(client.wait_until_ready())
    done, _ = await asyncio.wait({task, ready}, timeout=within,
                                 return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        ready.cancel()
        await stop_client(client, task)
        if task in done:
            task.result()
        raise TimeoutError("the client did not become ready")
    return task


async def stop_client(client: discord.Client, task: asyncio.Task[None]) -> None:
    """Close the client and wait for its task to finish."""
    await client.close()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5.0)
