// Element's crypto stack (matrix-js-sdk with Rust crypto, as Element uses it) reading the bot.
//
// Logs in with a new device and refuses senders whose device is not cross-signed
// (OnlySignedDevicesIsolationMode, as current Element does). Then either opens an encrypted
// direct chat with the sender (the bot) and sends it a command (--send), or joins a room it
// was invited to (--room); and waits for the first m.notice from the sender. Prints one JSON
// object per line: {"event": "ready"}, {"event": "room"}, then {"event": "notice", "room",
// "device", "signedByOwner", "crossSigningVerified", and "body" or "error" (the decryption
// failure code) with "message"}. Exits 0 after the notice; prints {"event": "failed"} and
// exits 1 on any failure or timeout.
//
// Usage: node check.mjs --homeserver URL --user ID --password PW --sender ID
//                       (--send TEXT | --room ROOM_ID) [--timeout SECONDS]

import { parseArgs } from "node:util";

if (typeof Promise.withResolvers !== "function") {
  // matrix-js-sdk 43 asks for Node 22; this is the one piece of it Node 20 lacks.
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new this((yes, no) => {
      resolve = yes;
      reject = no;
    });
    return { promise, resolve, reject };
  };
}

const sdk = await import("matrix-js-sdk");
const { OnlySignedDevicesIsolationMode } = await import("matrix-js-sdk/lib/crypto-api/index.js");
const { logger } = await import("matrix-js-sdk/lib/logger.js");
logger.setLevel("error");

const { values: args } = parseArgs({
  options: {
    homeserver: { type: "string" },
    user: { type: "string" },
    password: { type: "string" },
    sender: { type: "string" },
    send: { type: "string" },
    room: { type: "string" },
    timeout: { type: "string", default: "40" },
  },
});
for (const name of ["homeserver", "user", "password", "sender"]) {
  if (!args[name]) fail(`--${name} is required`);
}
if (!args.send === !args.room) fail("give exactly one of --send and --room");

const ENCRYPTION = {
  type: "m.room.encryption",
  state_key: "",
  content: { algorithm: "m.megolm.v1.aes-sha2" },
};

function say(object) {
  process.stdout.write(JSON.stringify(object) + "\n");
}

function fail(message) {
  say({ event: "failed", error: String(message) });
  process.exit(1);
}

let lastFailure = null; // the latest event from the sender that did not decrypt
setTimeout(() => fail(`timed out after ${args.timeout} s` + (lastFailure
  ? `; last decryption failure: ${lastFailure.decryptionFailureReason}` : "")),
Number(args.timeout) * 1000).unref();

/** Resolve once `test()` holds, checking it again whenever `emitter` fires `name`. */
function until(emitter, name, test) {
  return new Promise((resolve) => {
    const check = (...values) => {
      const result = test(...values);
      if (result) {
        emitter.off(name, check);
        resolve(result);
      }
    };
    emitter.on(name, check);
    check();
  });
}

async function login() {
  const anonymous = sdk.createClient({ baseUrl: args.homeserver });
  const session = await anonymous.loginRequest({
    type: "m.login.password",
    identifier: { type: "m.id.user", user: args.user },
    password: args.password,
    initial_device_display_name: "Element crypto check",
  });
  const client = sdk.createClient({
    baseUrl: args.homeserver,
    userId: session.user_id,
    deviceId: session.device_id,
    accessToken: session.access_token,
  });
  await client.initRustCrypto({ useIndexedDB: false });
  client.getCrypto().setDeviceIsolationMode(new OnlySignedDevicesIsolationMode());
  const synced = until(client, sdk.ClientEvent.Sync, (state) => state === "PREPARED");
  await client.startClient({ initialSyncLimit: 20 });
  await synced;
  // In this mode Element encrypts nothing until its own account is cross-signed: set it up.
  await client.getCrypto().bootstrapCrossSigning({ authUploadDeviceSigningKeys: withPassword });
  return client;
}

/** Run a request that needs user-interactive auth, answering with the account password. */
async function withPassword(makeRequest) {
  try {
    await makeRequest(null);
  } catch (error) {
    const session = error.data?.session;
    if (error.httpStatus !== 401 || !session) throw error;
    await makeRequest({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: args.user },
      password: args.password,
      session,
    });
  }
}

async function openDirectChat(client) {
  const { room_id: roomId } = await client.createRoom({
    preset: "trusted_private_chat",
    is_direct: true,
    invite: [args.sender],
    initial_state: [ENCRYPTION],
  });
  await client.setAccountData("m.direct", { [args.sender]: [roomId] });
  await until(client, sdk.RoomStateEvent.Members, () =>
    client.getRoom(roomId)?.getMember(args.sender)?.membership === "join");
  return roomId;
}

async function joinInvited(client, roomId) {
  await until(client, sdk.ClientEvent.Room, () => client.getRoom(roomId));
  await client.joinRoom(roomId);
  return roomId;
}

// Failures that mean "this sender is not trusted": final, unlike a room key still on its way.
const REFUSED = new Set(["UNSIGNED_SENDER_DEVICE", "UNKNOWN_SENDER_DEVICE",
  "SENDER_IDENTITY_PREVIOUSLY_VERIFIED"]);

/** The first m.notice from the sender, once decrypted, or the final refusal to decrypt it. */
function botNotice(client) {
  return new Promise((resolve) => {
    client.on(sdk.MatrixEventEvent.Decrypted, (event) => {
      if (event.getSender() !== args.sender || (args.room && event.getRoomId() !== args.room)) return;
      if (event.isDecryptionFailure()) {
        lastFailure = event;
        if (REFUSED.has(event.decryptionFailureReason)) resolve(event);
      } else if (event.getContent().msgtype === "m.notice") {
        resolve(event);
      }
    });
  });
}

async function describe(client, event) {
  const device = event.getWireContent().device_id ?? null;
  const status = device ? await client.getCrypto().getDeviceVerificationStatus(args.sender, device)
    : null;
  const report = {
    event: "notice",
    device,
    signedByOwner: status?.signedByOwner ?? null,
    crossSigningVerified: status?.crossSigningVerified ?? null,
  };
  if (event.isDecryptionFailure()) {
    report.error = event.decryptionFailureReason;
    report.message = event.getContent().body ?? null;
  } else {
    report.body = event.getContent().body;
  }
  return report;
}

async function main() {
  const client = await login();
  say({ event: "ready", user: client.getUserId(), device: client.getDeviceId() });
  const notice = botNotice(client);
  const roomId = args.room ? await joinInvited(client, args.room) : await openDirectChat(client);
  say({ event: "room", room: roomId });
  if (args.send) {
    await client.sendEvent(roomId, "m.room.message", { msgtype: "m.text", body: args.send });
  }
  const event = await notice;
  await client.getCrypto().getUserDeviceInfo([args.sender], true);
  say({ ...(await describe(client, event)), room: event.getRoomId() });
  client.stopClient();
  process.exit(0);
}

main().catch(fail);
