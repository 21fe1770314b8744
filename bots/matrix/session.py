"""Logging in and what must survive a restart: the session, the device keys, the sync token.

Everything lives in ``store_dir``: matrix-nio's encryption store (device keys, Olm and
Megolm sessions), ``session.json`` (the device id and access token, so a restart keeps
the same device) and ``sync-token`` (written only once a batch's events are durable in
the database). Transaction ids of notices need no file: they derive from the outbox.
Files holding secrets are created with owner-only permissions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import nio

from bots.matrix.calls import MatrixCallError, checked
from bots.matrix.config import PASSWORD_ENV, TOKEN_ENV, MatrixConfig
from core.i18n import _

SESSION_FILE = "session.json"
TOKEN_FILE = "sync-token"
CROSS_SIGNING_FILE = "cross-signing.json"


class LoginError(Exception):
    """The homeserver refused the bot's credentials; ``text`` says what to check (in any language)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically and durably, readable by the owner only."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


class SyncToken:
    """The sync token file: where the next start resumes."""

    def __init__(self, store_dir: Path) -> None:
        self.path = store_dir / TOKEN_FILE
        self._saved: str | None = None

    def load(self) -> str | None:
        """The saved token, or None on a first start."""
        try:
            token = self.path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        self._saved = token or None
        return self._saved

    def save(self, token: str) -> None:
        """Remember ``token`` (only call once the batch before it is fully carried out)."""
        if token != self._saved:
            write_private(self.path, token)
            self._saved = token


def new_client(config: MatrixConfig, device_id: str | None = None) -> nio.AsyncClient:
    """An encrypted matrix-nio client whose retries are left to :mod:`bots.matrix.calls`."""
    config.store_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    client_config = nio.AsyncClientConfig(
        encryption_enabled=True,
        store_sync_tokens=False,  # nio would save the token before the batch is handled
        max_limit_exceeded=0,
        max_timeouts=0,
        request_timeout=30,
    )
    return nio.AsyncClient(config.homeserver, config.user_id, device_id=device_id,
                           store_path=str(config.store_dir), config=client_config)


def _read_session(store_dir: Path, user_id: str) -> dict[str, str] | None:
    try:
        data: Any = json.loads((store_dir / SESSION_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("user_id") != user_id:
        return None
    if not all(isinstance(data.get(k), str) for k in ("device_id", "access_token")):
        return None
    return {k: data[k] for k in ("user_id", "device_id", "access_token")}


def _save_session(store_dir: Path, client: nio.AsyncClient) -> None:
    data = {"user_id": client.user_id, "device_id": client.device_id,
            "access_token": client.access_token}
    write_private(store_dir / SESSION_FILE, json.dumps(data))


async def login(config: MatrixConfig) -> nio.AsyncClient:
    """Log in (reusing the saved device when there is one) and upload device keys if needed."""
    saved = _read_session(config.store_dir, config.user_id)
    client = new_client(config, saved["device_id"] if saved else None)
    try:
        if config.access_token is not None:
            await _with_token(client, config, config.access_token, TOKEN_ENV)
        elif saved is not None and await _token_works(client, saved["access_token"]):
            client.restore_login(config.user_id, saved["device_id"], saved["access_token"])
        else:
            await _with_password(client, config)
        _save_session(config.store_dir, client)
        if client.should_upload_keys:
            await checked("uploading device keys", client.keys_upload, nio.KeysUploadResponse)
    except BaseException:
        await close(client)
        raise
    return client


async def close(client: nio.AsyncClient) -> None:
    """Close the client's HTTP session (nio leaves ``close`` unannotated)."""
    untyped: Any = client
    await untyped.close()


async def _token_works(client: nio.AsyncClient, token: str) -> bool:
    client.access_token = token
    response = await client.whoami()
    client.access_token = ""
    return isinstance(response, nio.WhoamiResponse)


async def _with_token(client: nio.AsyncClient, config: MatrixConfig, token: str, env: str) -> None:
    client.access_token = token
    try:
        who = await checked("checking the access token", client.whoami, nio.WhoamiResponse,
                            attempts=3)
    except MatrixCallError as err:
        if err.code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_FORBIDDEN"):
            raise LoginError(_("The homeserver refused the access token: check {env}.",
                               env=env)) from None
        raise
    if who.user_id != config.user_id:
        raise LoginError(_("{env} belongs to {owner}, not to [matrix] user_id {user_id}.",
                           env=env, owner=who.user_id, user_id=config.user_id))
    if not who.device_id:
        raise LoginError(_("{env} has no device; make a token by logging in as the bot.",
                           env=env))
    client.restore_login(who.user_id, who.device_id, token)


async def _with_password(client: nio.AsyncClient, config: MatrixConfig) -> None:
    if config.password is None:
        raise LoginError(_("The saved session no longer works: set {env}.", env=PASSWORD_ENV))
    try:
        await checked("logging in",
                      lambda: client.login(config.password, device_name=config.device_name),
                      nio.LoginResponse, attempts=3)
    except MatrixCallError as err:
        if err.code in ("M_FORBIDDEN", "M_USER_DEACTIVATED", "M_INVALID_USERNAME"):
            raise LoginError(_("The homeserver refused to log in {user_id}: check {env} and "
                               "[matrix] user_id.", user_id=config.user_id,
                               env=PASSWORD_ENV)) from None
        raise
