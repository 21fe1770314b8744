"""A local Synapse homeserver on 127.0.0.1 with SQLite: the one launcher of the demo and tests.

It uses the ``matrix-synapse`` package of the ``demo`` extra: no download, no Docker.
The configuration is written directly (``--generate-config`` alone costs a whole server
start); registration uses the shared-secret admin API, so no open registration is needed.
Rate limits are raised so nobody waits on one, and password hashing is as cheap as bcrypt
allows, since every account here is a throwaway one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Self

SERVER_NAME = "localhost"
_PLENTY = {"per_second": 10_000, "burst_count": 100_000}
RATE_LIMITS: dict[str, Any] = {
    "rc_message": _PLENTY,
    "rc_registration": _PLENTY,
    "rc_registration_token_validity": _PLENTY,
    "rc_login": {"address": _PLENTY, "account": _PLENTY, "failed_attempts": _PLENTY},
    "rc_admin_redaction": _PLENTY,
    "rc_joins": {"local": _PLENTY, "remote": _PLENTY},
    "rc_joins_per_room": _PLENTY,
    "rc_3pid_validation": _PLENTY,
    "rc_invites": {"per_room": _PLENTY, "per_user": _PLENTY, "per_issuer": _PLENTY},
    "rc_third_party_invite": _PLENTY,
    "rc_key_requests": _PLENTY,
    "rc_media_create": _PLENTY,
    "rc_presence": {"per_user": _PLENTY},
    "rc_delayed_event_mgmt": _PLENTY,
    "rc_room_creation": _PLENTY,
    "rc_reports": _PLENTY,
    "rc_user_directory": _PLENTY,
    "rc_profile": _PLENTY,
}


class HomeserverError(RuntimeError):
    """Synapse did not start, or a request to it failed."""


def synapse_installed() -> bool:
    """Whether the ``matrix-synapse`` package can be imported here."""
    try:
        import synapse  # noqa: F401
    except ImportError:
        return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Homeserver:
    """One Synapse process whose config, database and logs live in ``directory``."""

    def __init__(self, directory: Path, port: int | None = None,
                 rate_limits: dict[str, Any] | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server_name = SERVER_NAME
        self.config_path = directory / "homeserver.yaml"
        self.database_path = directory / "homeserver.db"
        self.log_path = directory / "homeserver.log"
        self.rate_limits = RATE_LIMITS if rate_limits is None else rate_limits
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()  # start() runs in a thread; stop() may come from another
        self._stopped = False

    def user_id(self, localpart: str) -> str:
        """The full Matrix id of ``localpart`` on this server."""
        return f"@{localpart}:{self.server_name}"

    def _secret(self, name: str) -> str:
        """A secret kept in the directory, so a restart on it keeps registering and logins."""
        path = self.directory / f"{name}.secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def write_config(self) -> None:
        """Write the configuration (JSON is valid YAML), keeping an existing signing key."""
        self.directory.mkdir(parents=True, exist_ok=True)
        key = self.directory / "signing.key"
        if not key.exists():
            seed = base64.b64encode(os.urandom(32)).decode().rstrip("=")
            key.write_text(f"ed25519 a_demo {seed}\n")
        log_config = self.directory / "log.yaml"
        log_config.write_text(json.dumps({
            "version": 1,
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
            "handlers": {"file": {"class": "logging.FileHandler", "formatter": "plain",
                                  "filename": str(self.log_path), "encoding": "utf8"}},
            "root": {"level": "INFO", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }))
        config = {
            "server_name": self.server_name,
            "listeners": [{"port": self.port, "bind_addresses": ["127.0.0.1"], "type": "http",
                           "tls": False, "x_forwarded": False,
                           "resources": [{"names": ["client"], "compress": False}]}],
            "database": {"name": "sqlite3", "args": {"database": str(self.database_path)}},
            "log_config": str(log_config),
            "media_store_path": str(self.directory / "media_store"),
            "signing_key_path": str(key),
            "report_stats": False,
            "registration_shared_secret": self._secret("registration"),
            "enable_registration": False,
            "macaroon_secret_key": self._secret("macaroon"),
            "form_secret": self._secret("form"),
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "presence": {"enabled": False},
            "bcrypt_rounds": 4,  # bcrypt's minimum: registrations and logins stay fast
            **self.rate_limits,
        }
        self.config_path.write_text(json.dumps(config, indent=1))

    def start(self, timeout: float = 90.0) -> None:
        """Start Synapse and return once its client API answers.

        A :meth:`stop` (from another thread, even before this begins) is final: a start not
        yet done gives up, and none begins after it, so no Synapse outlives its owner.
        """
        if self._process is not None:
            raise HomeserverError("the homeserver is already running")
        self.write_config()
        with self._lock, (self.directory / "synapse.out").open("ab") as out:
            if self._stopped:
                raise HomeserverError("the homeserver was stopped before it started")
            self._process = subprocess.Popen(
                [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
                cwd=self.directory, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT)
        try:
            self._wait(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise

    def _wait(self, deadline: float) -> None:
        process = self._process
        while True:
            if process is None or self._stopped:
                raise HomeserverError("the homeserver was stopped while it started")
            if process.poll() is not None:
                raise HomeserverError(f"Synapse stopped with code {process.returncode}; "
                                      f"see {self.log_path}:\n{self._tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise HomeserverError(f"Synapse did not answer in time; see {self.log_path}:\n"
                                      f"{self._tail()}")
            time.sleep(0.05)

    def _tail(self, lines: int = 15) -> str:
        """The last lines of Synapse's output and log, to say why it failed."""
        texts = []
        for path in (self.directory / "synapse.out", self.log_path):
            if path.exists():
                texts.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(texts)

    def stop(self, timeout: float = 10.0, *, final: bool = True) -> None:
        """Stop Synapse (terminate, then kill if it lingers).

        A final stop (the default) also forbids any later start; ``final=False`` lets a
        test stop the homeserver and start it again.
        """
        with self._lock:
            self._stopped = final
            process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            raise HomeserverError(f"{method} {path} -> {err.code}: {detail}") from None

    def register(self, localpart: str, password: str, admin: bool = False) -> str:
        """Register an account with the shared secret; returns its user id."""
        path = "/_synapse/admin/v1/register"
        nonce: str = self._request("GET", path)["nonce"]
        mac = hmac.new(self._secret("registration").encode(), digestmod=hashlib.sha1)
        for part in (nonce, localpart, password):
            mac.update(part.encode() + b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        answer = self._request("POST", path, {
            "nonce": nonce, "username": localpart, "password": password, "admin": admin,
            "mac": mac.hexdigest(), "inhibit_login": True,
        })
        user_id: str = answer["user_id"]
        return user_id
