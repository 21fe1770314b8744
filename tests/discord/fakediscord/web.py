"""HTTP plumbing shared by the routes: Discord-shaped errors, JSON responses, request bodies."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

# discord.py parses a body as JSON only if Content-Type is exactly this (no charset).
JSON_TYPE = "application/json"


class ApiError(Exception):
    """A Discord JSON error: HTTP status, Discord error code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message


def unknown(what: str, code: int) -> ApiError:
    """A 404 for an unknown object, e.g. `unknown("Channel", 10003)`."""
    return ApiError(404, code, f"Unknown {what}")


def invalid(message: str) -> ApiError:
    """A 400 Invalid Form Body error."""
    return ApiError(400, 50035, f"Invalid Form Body: {message}")


def missing_permissions() -> ApiError:
    """The 403 Discord answers when the bot lacks a permission."""
    return ApiError(403, 50013, "Missing Permissions")


def missing_access() -> ApiError:
    """The 403 Discord answers when the bot cannot see the channel."""
    return ApiError(403, 50001, "Missing Access")


def json_response(data: Any, status: int = 200) -> web.Response:
    """A response discord.py decodes as JSON."""
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": JSON_TYPE})


def error_response(error: ApiError) -> web.Response:
    """The JSON body Discord sends with an error."""
    return json_response({"message": error.message, "code": error.code}, error.status)


def no_content() -> web.Response:
    """A 204 without a body or content type."""
    return web.Response(status=204)


@dataclass
class UploadedFile:
    """One `files[n]` part of a multipart request."""

    index: int
    filename: str
    data: bytes
    content_type: str | None


@dataclass
class Body:
    """A request body: the JSON payload and any uploaded files."""

    payload: Any = None
    files: list[UploadedFile] = field(default_factory=list)


BODY_KEY = web.RequestKey("body", Body)


async def read_body(request: web.Request) -> Body:
    """Parse a JSON or multipart (`payload_json` + `files[n]`) body and keep it for the record."""
    if request.content_type.startswith("multipart/"):
        body = await _read_multipart(request)
    elif request.can_read_body:
        body = Body(payload=json.loads(await request.read() or b"null"))
    else:
        body = Body()
    request[BODY_KEY] = body
    return body


async def _read_multipart(request: web.Request) -> Body:
    """Read the parts of a multipart body."""
    body = Body()
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        data = await part.read(decode=False)
        name = part.name or ""
        if name == "payload_json":
            body.payload = json.loads(data)
        elif name.startswith("files["):
            body.files.append(UploadedFile(int(name[6:-1]), part.filename or "file", bytes(data),
                                           part.headers.get("Content-Type")))
    return body


def payload_dict(body: Body) -> dict[str, Any]:
    """The payload as a dict, refusing anything else."""
    if body.payload is None:
        return {}
    if not isinstance(body.payload, dict):
        raise invalid("expected a JSON object")
    return body.payload


def snowflake(request: web.Request, name: str) -> int:
    """A snowflake path parameter, 404 if it is not a number."""
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ApiError(404, 0, "404: Not Found") from None
