"""The bot's device ends up signed by its own self-signing key, on a real Synapse."""

from __future__ import annotations

import base64
import json
import stat
import urllib.request
from pathlib import Path
from typing import Any

import canonicaljson
import pytest
from Crypto.Signature import eddsa

from bots.matrix.crosssign import CrossSigningError, ensure_cross_signed, load_or_create_keys
from bots.matrix.homeserver import Homeserver
from tests.matrix.users import User, unique_name


def query_keys(synapse: Homeserver, token: str, user_id: str) -> dict[str, Any]:
    """Ask the server for `user_id`'s keys, as another user would."""
    request = urllib.request.Request(
        f"{synapse.url}/_matrix/client/v3/keys/query",
        data=json.dumps({"device_keys": {user_id: []}}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        answer: dict[str, Any] = json.load(response)
    return answer


def signed_by(obj: dict[str, Any], user_id: str, public_key: str) -> bool:
    """Tell whether `obj` carries a valid signature by the Ed25519 `public_key`."""
    signature = obj.get("signatures", {}).get(user_id, {}).get(f"ed25519:{public_key}")
    if signature is None:
        return False
    unsigned = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    verifier = eddsa.new(eddsa.import_public_key(b64decode(public_key)), "rfc8032")
    try:
        verifier.verify(canonicaljson.encode_canonical_json(unsigned), b64decode(signature))
    except ValueError:
        return False
    return True


def b64decode(text: str) -> bytes:
    """Decode unpadded base64."""
    return base64.b64decode(text + "=" * (-len(text) % 4))


def only_key(keys: dict[str, Any], kind: str, user_id: str) -> str:
    """Return the single public key of `kind` (e.g. `master_keys`) for `user_id`."""
    (key,) = keys[kind][user_id]["keys"].values()
    assert isinstance(key, str)
    return key


async def login(synapse: Homeserver, store: Path, name: str, password: str) -> User:
    """Log `name` in with a new encrypted device whose keys are uploaded."""
    return await User.login(synapse.url, synapse.user_id(name), password, store)


def assert_cross_signed(synapse: Homeserver, observer: User, bot: User) -> None:
    """Check, as `observer` sees it, that the bot's device is cross-signed."""
    keys = query_keys(synapse, observer.client.access_token, bot.user_id)
    master = only_key(keys, "master_keys", bot.user_id)
    self_signing = only_key(keys, "self_signing_keys", bot.user_id)
    assert signed_by(keys["self_signing_keys"][bot.user_id], bot.user_id, master)
    device = keys["device_keys"][bot.user_id][bot.client.device_id]
    assert signed_by(device, bot.user_id, self_signing)


async def test_device_is_cross_signed_and_survives_restart(
    synapse: Homeserver, tmp_path: Path
) -> None:
    name, password = unique_name("bot"), "bot-password"
    synapse.register(name, password)
    other = unique_name("observer")
    synapse.register(other, password)
    store = tmp_path / "bot-store"
    secrets_path = store / "cross-signing.json"

    observer = await login(synapse, tmp_path / other, other, password)
    bot = await login(synapse, store, name, password)
    try:
        await ensure_cross_signed(bot.client, password, secrets_path)
        assert stat.S_IMODE(secrets_path.stat().st_mode) == 0o600
        assert_cross_signed(synapse, observer, bot)
        first_master = load_or_create_keys(secrets_path, bot.user_id).master.public
    finally:
        await bot.close()

    # A restart: same store, same device, same secrets; nothing is replaced.
    device_id, token = bot.client.device_id, bot.client.access_token
    assert device_id is not None
    bot = await User.restore(synapse.url, bot.user_id, device_id, token, store)
    try:
        await ensure_cross_signed(bot.client, None, secrets_path)
        await ensure_cross_signed(bot.client, None, secrets_path)  # idempotent
        assert_cross_signed(synapse, observer, bot)
        keys = query_keys(synapse, observer.client.access_token, bot.user_id)
        assert only_key(keys, "master_keys", bot.user_id) == first_master
    finally:
        await bot.close()

    # A new device of the same bot (say, its store was lost) is signed with the same keys.
    bot = await login(synapse, tmp_path / "new-store", name, password)
    try:
        assert bot.client.device_id != device_id
        await ensure_cross_signed(bot.client, None, secrets_path)
        assert_cross_signed(synapse, observer, bot)
    finally:
        await bot.close()
        await observer.close()


async def test_replacing_keys_needs_the_password(synapse: Homeserver, tmp_path: Path) -> None:
    name, password = unique_name("bot"), "bot-password"
    synapse.register(name, password)
    bot = await login(synapse, tmp_path / "store", name, password)
    try:
        await ensure_cross_signed(bot.client, password, tmp_path / "first.json")
        with pytest.raises(CrossSigningError, match="password"):
            await ensure_cross_signed(bot.client, None, tmp_path / "second.json")
        await ensure_cross_signed(bot.client, password, tmp_path / "second.json")
        keys = query_keys(synapse, bot.client.access_token, bot.user_id)
        second = load_or_create_keys(tmp_path / "second.json", bot.user_id)
        assert only_key(keys, "master_keys", bot.user_id) == second.master.public
    finally:
        await bot.close()


def test_secrets_file_for_another_user_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    load_or_create_keys(path, "@a:localhost")
    with pytest.raises(CrossSigningError):
        load_or_create_keys(path, "@b:localhost")
