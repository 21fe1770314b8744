"""A real Synapse homeserver on 127.0.0.1, started in a directory for tests."""

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
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Self

SERVER_NAME = "localhost"

# Rate limits high enough that no test ever waits on one.
_UNLIMITED = {"per_second": 10_000, "burst_count": 100_000}
_RATE_LIMITS: dict[str, Any] = {
    "rc_message": _UNLIMITED,
    "rc_registration": _UNLIMITED,
    "rc_registration_token_validity": _UNLIMITED,
    "rc_login": {"address": _UNLIMITED, "account": _UNLIMITED, "failed_attempts": _UNLIMITED},
    "rc_admin_redaction": _UNLIMITED,
    "rc_joins": {"local": _UNLIMITED, "remote": _UNLIMITED},
    "rc_joins_per_room": _UNLIMITED,
    "rc_3pid_validation": _UNLIMITED,
    "rc_invites": {"per_room": _UNLIMITED, "per_user": _UNLIMITED, "per_issuer": _UNLIMITED},
    "rc_third_party_invite": _UNLIMITED,
    "rc_key_requests": _UNLIMITED,
    "rc_media_create": _UNLIMITED,
    "rc_presence": {"per_user": _UNLIMITED},
    "rc_delayed_event_mgmt": _UNLIMITED,
    "rc_room_creation": _UNLIMITED,
    "rc_reports": _UNLIMITED,
    "rc_user_directory": _UNLIMITED,
    "rc_profile": _UNLIMITED,
}


class SynapseError(RuntimeError):
    """Synapse did not start, or an admin request to it failed."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _unpadded_b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


class Synapse:
    """One Synapse process whose config, database and logs live in `directory`."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.server_name = SERVER_NAME
        self.config_path = directory / "hs.yaml"
        self.database_path = directory / "homeserver.db"
        self.log_path = directory / "homeserver.log"
        self.startup_seconds: float | None = None
        self._shared_secret = secrets.token_urlsafe(32)
        self._process: subprocess.Popen[bytes] | None = None

    def user_id(self, localpart: str) -> str:
        """Return the full Matrix user id for `localpart` on this server."""
        return f"@{localpart}:{self.server_name}"

    def write_config(self) -> None:
        """Write hs.yaml and its log config, keeping any signing key (JSON is valid YAML)."""
        # Written directly rather than with `--generate-config`: that command alone
        # costs as much as a whole server start (about 2.5 s, mostly imports).
        self.directory.mkdir(parents=True, exist_ok=True)
        signing_key = self.directory / "signing.key"
        if not signing_key.exists():
            signing_key.write_text(f"ed25519 a_test {_unpadded_b64(os.urandom(32))}\n")
        log_config = self.directory / "log.yaml"
        log_config.write_text(json.dumps(self._log_config()))
        config: dict[str, Any] = {
            "server_name": self.server_name,
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(self.database_path)}},
            "log_config": str(log_config),
            "media_store_path": str(self.directory / "media_store"),
            "signing_key_path": str(signing_key),
            "report_stats": False,
            "registration_shared_secret": self._shared_secret,
            "enable_registration": False,
            "macaroon_secret_key": secrets.token_urlsafe(32),
            "form_secret": secrets.token_urlsafe(32),
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "presence": {"enabled": False},
            "bcrypt_rounds": 4,  # fast password hashing: registration and login in tests
            **_RATE_LIMITS,
        }
        self.config_path.write_text(json.dumps(config, indent=1))

    def _log_config(self) -> dict[str, Any]:
        return {
            "version": 1,
            "formatters": {
                "precise": {"format": "%(asctime)s - %(name)s - %(levelname)s - %(message)s"}
            },
            "handlers": {
                "file": {
                    "class": "logging.FileHandler",
                    "formatter": "precise",
                    "filename": str(self.log_path),
                    "encoding": "utf8",
                }
            },
            "root": {"level": "INFO", "handlers": ["file"]},
            "disable_existing_loggers": False,
        }

    def start(self, timeout: float = 60.0) -> None:
        """Start Synapse and block until its client API answers."""
        if self._process is not None:
            raise SynapseError("Synapse is already running")
        began = time.monotonic()
        self.write_config()
        with (self.directory / "synapse.out").open("ab") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_until_ready(began + timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def _wait_until_ready(self, deadline: float) -> None:
        assert self._process is not None
        while True:
            if self._process.poll() is not None:
                raise SynapseError(
                    f"Synapse exited with {self._process.returncode}: {self._tail()}"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/_matrix/client/versions", timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise SynapseError(f"Synapse did not answer in time: {self._tail()}")
            time.sleep(0.05)

    def _tail(self, lines: int = 30) -> str:
        texts = []
        for path in (self.directory / "synapse.out", self.log_path):
            if path.exists():
                texts.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(texts)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop Synapse: terminate, then kill if it does not exit in time."""
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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise SynapseError(f"{method} {path} -> {error.code}: {detail}") from error

    def register_user(self, name: str, password: str, admin: bool = False) -> str:
        """Register `name` with the shared-secret admin API and return its user id."""
        path = "/_synapse/admin/v1/register"
        nonce: str = self._request("GET", path)["nonce"]
        mac = hmac.new(self._shared_secret.encode(), digestmod=hashlib.sha1)
        for part in (nonce, name, password):
            mac.update(part.encode() + b"\x00")
        mac.update(b"admin" if admin else b"notadmin")
        body = {
            "nonce": nonce,
            "username": name,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
            "inhibit_login": True,
        }
        user_id: str = self._request("POST", path, body)["user_id"]
        return user_id
