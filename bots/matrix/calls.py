"""Homeserver requests with their errors checked, and retried when retrying can help.

Every matrix-nio call returns either its response or an error object; :func:`checked`
turns that into "the response, or :class:`MatrixCallError`". Rate limits
(``M_LIMIT_EXCEEDED``, honouring ``retry_after_ms``), server errors (5xx) and connection
failures are retried with exponential backoff; other errors (forbidden, unknown room…)
fail at once. Log lines carry error codes and server messages, never message bodies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import nio

log = logging.getLogger("twinome.matrix")

Sleep = Callable[[float], Awaitable[None]]
MAX_DELAY = 30.0


class MatrixCallError(Exception):
    """A homeserver request failed for good."""

    def __init__(self, what: str, detail: str, code: str | None = None) -> None:
        super().__init__(f"{what} failed: {detail}")
        self.what = what
        self.code = code


def error_code(response: Any) -> str | None:
    """The Matrix ``errcode`` of an error response, if it has one."""
    code = getattr(response, "status_code", None)
    return code if isinstance(code, str) else None


def http_status(response: Any) -> int | None:
    """The HTTP status behind a response, if nio kept it."""
    transport = getattr(response, "transport_response", None)
    status = getattr(transport, "status", None)
    return status if isinstance(status, int) else None


def backoff(attempt: int, base: float) -> float:
    """The wait before try ``attempt + 1``: doubling from ``base``, capped."""
    return float(min(base * 2.0**attempt, MAX_DELAY))


def retry_delay(response: Any, attempt: int, base: float) -> float | None:
    """How long to wait before trying again, or None when trying again cannot help."""
    code = error_code(response)
    if code == "M_LIMIT_EXCEEDED" or http_status(response) == 429:
        after = getattr(response, "retry_after_ms", None)
        if isinstance(after, int) and after > 0:
            return min(after / 1000, MAX_DELAY)
        return backoff(attempt, base)
    status = http_status(response)
    if (status is not None and status >= 500) or (status is None and code is None):
        return backoff(attempt, base)
    return None


async def checked(
    what: str,
    call: Callable[[], Awaitable[Any]],
    ok: type | tuple[type, ...],
    *,
    attempts: int = 5,
    base: float = 0.5,
    sleep: Sleep = asyncio.sleep,
) -> Any:
    """Run ``call`` until it returns an ``ok`` response; raise :class:`MatrixCallError` if not."""
    for attempt in range(attempts):
        delay: float | None
        try:
            response = await call()
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            detail, code, delay = f"connection problem ({type(err).__name__})", None, backoff(attempt, base)
        except nio.LocalProtocolError as err:
            raise MatrixCallError(what, f"refused locally: {err}") from None
        else:
            if isinstance(response, ok):
                return response
            detail, code = str(response), error_code(response)
            delay = retry_delay(response, attempt, base)
        if delay is None or attempt == attempts - 1:
            raise MatrixCallError(what, detail, code)
        log.warning("%s: %s; retrying in %.1fs", what, detail, delay)
        await sleep(min(delay, MAX_DELAY))
    raise AssertionError("unreachable")
