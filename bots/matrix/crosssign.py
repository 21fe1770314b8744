"""Cross-signing of the bot's own device, done by hand because matrix-nio has none.

Theory of operation. A Matrix user's cross-signing identity is three Ed25519 keys: the
master key, the self-signing key (signs the user's own devices) and the user-signing key
(signs other users' master keys); the last two are signed by the master key. Clients such
as Element only exchange encrypted messages with devices signed by their owner's
self-signing key. At every start `ensure_cross_signed`:

1. loads the three private seeds from the secrets file, or creates it (mode 0600) first;
2. asks the server for the user's own keys, and uploads the three public keys if the
   server does not already hold these exact master and self-signing keys (replacing keys
   needs user-interactive auth with the account password);
3. checks that the server's copy of this device's keys is the one nio holds locally, signs
   it with the self-signing key, signs the master key with the device key, and uploads
   both signatures (the server keeps one signature per key, so this is idempotent).

Signatures are Ed25519 over the canonical JSON of the object without its `signatures` and
`unsigned` members; key ids are `ed25519:<unpadded base64 public key>`.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import canonicaljson
import nio
from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

if TYPE_CHECKING:
    from nio.crypto import Olm

JsonDict = dict[str, Any]

_SECRETS_VERSION = 1
_ROLES = ("master", "self_signing", "user_signing")


class CrossSigningError(Exception):
    """Cross-signing keys could not be loaded, uploaded, or used to sign the device."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _strip(obj: JsonDict) -> JsonDict:
    return {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}


def _add_signature(obj: JsonDict, user_id: str, key_id: str, signature: str) -> JsonDict:
    signed = dict(obj)
    signatures = {u: dict(s) for u, s in obj.get("signatures", {}).items()}
    signatures.setdefault(user_id, {})[key_id] = signature
    signed["signatures"] = signatures
    return signed


@dataclass(frozen=True)
class SigningKey:
    """One Ed25519 cross-signing key made from its 32-byte private seed."""

    seed: bytes

    @property
    def public(self) -> str:
        """Return the unpadded base64 public key."""
        key = eddsa.import_private_key(self.seed)
        return _b64(key.public_key().export_key(format="raw"))

    @property
    def key_id(self) -> str:
        """Return the key id, `ed25519:<public key>`."""
        return f"ed25519:{self.public}"

    def sign(self, obj: JsonDict) -> str:
        """Return the unpadded base64 signature of `obj`'s canonical JSON."""
        signer = eddsa.new(eddsa.import_private_key(self.seed), "rfc8032")
        return _b64(signer.sign(canonicaljson.encode_canonical_json(_strip(obj))))

    def key_object(self, user_id: str, usage: str) -> JsonDict:
        """Return the public key object as uploaded to the server, unsigned."""
        return {"user_id": user_id, "usage": [usage], "keys": {self.key_id: self.public}}


@dataclass(frozen=True)
class CrossSigningKeys:
    """The master, self-signing and user-signing keys of one user."""

    user_id: str
    master: SigningKey
    self_signing: SigningKey
    user_signing: SigningKey

    @classmethod
    def generate(cls, user_id: str) -> CrossSigningKeys:
        """Make three fresh keys for `user_id`."""
        seeds = [ECC.generate(curve="Ed25519").seed for _ in _ROLES]
        return cls(user_id, *(SigningKey(seed) for seed in seeds))

    def upload_body(self) -> JsonDict:
        """Return the body of `/keys/device_signing/upload`, sub-keys signed by the master."""
        body: JsonDict = {"master_key": self.master.key_object(self.user_id, "master")}
        for role in ("self_signing", "user_signing"):
            key: SigningKey = getattr(self, role)
            obj = key.key_object(self.user_id, role)
            body[f"{role}_key"] = _add_signature(
                obj, self.user_id, self.master.key_id, self.master.sign(obj)
            )
        return body


def load_or_create_keys(path: Path, user_id: str) -> CrossSigningKeys:
    """Read the keys from `path`, or create them and write `path` with mode 0600."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        keys = CrossSigningKeys.generate(user_id)
        _write_secrets(path, keys)
        return keys
    except (OSError, ValueError) as error:
        raise CrossSigningError(f"cannot read cross-signing secrets {path}: {error}") from error
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    if data.get("version") != _SECRETS_VERSION or data.get("user_id") != user_id:
        raise CrossSigningError(f"{path} holds no cross-signing secrets for {user_id}")
    try:
        return CrossSigningKeys(user_id, *(SigningKey(_unb64(data[r])) for r in _ROLES))
    except (KeyError, TypeError, ValueError) as error:
        raise CrossSigningError(f"malformed cross-signing secrets in {path}") from error


def _write_secrets(path: Path, keys: CrossSigningKeys) -> None:
    data: JsonDict = {"version": _SECRETS_VERSION, "user_id": keys.user_id}
    for role in _ROLES:
        data[role] = _b64(getattr(keys, role).seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(data, file)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


async def _request(client: nio.AsyncClient, path: str, body: JsonDict) -> tuple[int, JsonDict]:
    """POST `body` to the client-server API path; return the status and the JSON answer."""
    headers = {
        "Authorization": f"Bearer {client.access_token}",
        "Content-Type": "application/json",
    }
    try:
        response = await client.send("POST", path, json.dumps(body), headers)
        async with response:
            answer = await response.json(content_type=None)
            status: int = response.status
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as error:
        raise CrossSigningError(f"POST {path} failed: {error!r}") from error
    if not isinstance(answer, dict):
        raise CrossSigningError(f"POST {path} -> {status}: not a JSON object")
    return status, answer


async def _query_own_keys(client: nio.AsyncClient) -> JsonDict:
    path = "/_matrix/client/v3/keys/query"
    status, answer = await _request(client, path, {"device_keys": {client.user_id: []}})
    if status != 200:
        raise CrossSigningError(f"POST {path} -> {status}: {answer}")
    return answer


def _server_key(answer: JsonDict, kind: str, user_id: str) -> str | None:
    """Return the public key of the server's `kind` (e.g. `master_keys`) for `user_id`."""
    keys = answer.get(kind, {}).get(user_id, {}).get("keys", {})
    return next(iter(keys.values()), None) if isinstance(keys, dict) else None


async def _upload_signing_keys(
    client: nio.AsyncClient, keys: CrossSigningKeys, password: str | None
) -> None:
    path = "/_matrix/client/v3/keys/device_signing/upload"
    body = keys.upload_body()
    status, answer = await _request(client, path, body)
    if status == 401 and "session" in answer:
        if password is None:
            raise CrossSigningError(
                "the server wants the account password to replace cross-signing keys"
            )
        body["auth"] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": client.user_id},
            "password": password,
            "session": answer["session"],
        }
        status, answer = await _request(client, path, body)
    if status != 200:
        raise CrossSigningError(f"POST {path} -> {status}: {answer}")


def _own_device_keys(answer: JsonDict, user_id: str, device_id: str, olm: Olm) -> JsonDict:
    """Return the server's copy of this device's keys, checked against nio's account."""
    device: JsonDict | None = answer.get("device_keys", {}).get(user_id, {}).get(device_id)
    if device is None:
        raise CrossSigningError(f"device {device_id} has not uploaded its keys yet")
    local = olm.account.identity_keys
    expected = {
        f"ed25519:{device_id}": local["ed25519"],
        f"curve25519:{device_id}": local["curve25519"],
    }
    if device.get("keys") != expected:
        raise CrossSigningError(f"the server's keys for device {device_id} are not this device's")
    return device


async def ensure_cross_signed(
    client: nio.AsyncClient, password: str | None, secrets_path: Path
) -> None:
    """Make sure the client's device is signed by its user's self-signing key.

    `password` is needed only to replace keys the server already holds; `secrets_path`
    keeps the private keys and is created with mode 0600 on first use.
    """
    user_id: str = client.user_id
    device_id, olm = client.device_id, client.olm
    if not client.logged_in or device_id is None or olm is None:
        raise CrossSigningError("log in with encryption enabled before cross-signing")
    keys = load_or_create_keys(secrets_path, user_id)
    answer = await _query_own_keys(client)
    device = _own_device_keys(answer, user_id, device_id, olm)
    if (
        _server_key(answer, "master_keys", user_id) != keys.master.public
        or _server_key(answer, "self_signing_keys", user_id) != keys.self_signing.public
    ):
        await _upload_signing_keys(client, keys, password)
    ssk, master = keys.self_signing, keys.master.key_object(user_id, "master")
    signatures = {
        user_id: {
            device_id: _add_signature(_strip(device), user_id, ssk.key_id, ssk.sign(device)),
            keys.master.public: _add_signature(
                master, user_id, f"ed25519:{device_id}", olm.sign_json(master)
            ),
        }
    }
    path = "/_matrix/client/v3/keys/signatures/upload"
    status, result = await _request(client, path, signatures)
    if status != 200 or result.get("failures"):
        raise CrossSigningError(f"POST {path} -> {status}: {result}")
