/**
 * The client's rules where a real server cannot be made to misbehave on cue: gaps, duplicates,
 * acks of a catch-up, the backoff's jitter and ceiling, close codes, reauth spacing. A scripted
 * socket stands in for the server; the real server's tests are in chat.test.ts.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffDelay, ParlourChat, type ServerFrame, type WebSocketLike } from "../src/index.js";
import { ManualTimers } from "./support.js";

class ScriptedSocket implements WebSocketLike {
  static made: ScriptedSocket[] = [];
  readyState = 0;
  readonly sent: Record<string, unknown>[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  closedWith: number | null = null;

  constructor(readonly url: string) {
    ScriptedSocket.made.push(this);
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(frame: ServerFrame): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

const READY = { type: "ready", protocol: 1, conversation_id: "c1", expires_at: "2026-01-01T00:10:00Z", people: true } as const;
const message = (seq: number, text = `m${seq}`): ServerFrame => ({
  type: "message",
  seq,
  id: `id${seq}`,
  author: "assistant",
  text,
  citations: [],
  created_at: "2026-01-01T00:00:00Z",
});
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function connected(timers = new ManualTimers(), lastSeq = 0, random = () => 0.5) {
  ScriptedSocket.made = [];
  let tokens = 0;
  const client = new ParlourChat({
    url: "wss://parlour.example/",
    widgetId: "wgt_1",
    getToken: async () => `token-${++tokens}`,
    WebSocket: ScriptedSocket,
    timers,
    random,
    lastSeq,
    randomUUID: () => `00000000-0000-4000-8000-00000000000${ScriptedSocket.made.length}`,
  });
  const delivered: number[] = [];
  client.on("message", (m) => delivered.push(m.seq));
  client.on("handoff", (h) => delivered.push(h.seq));
  client.connect();
  await settle();
  const socket = ScriptedSocket.made.at(-1)!;
  socket.open();
  return { client, socket, delivered, timers, tokens: () => tokens };
}

test("the socket opens on the widget's path and authenticates with the token and the last seq", async () => {
  const { socket } = await connected(new ManualTimers(), 7);
  assert.equal(socket.url, "wss://parlour.example/v1/chat/wgt_1");
  assert.deepEqual(socket.sent, [{ type: "auth", token: "token-1", last_seq: 7 }]);
});

test("a catch-up is acknowledged once, at its last frame, and live frames one by one", async () => {
  const { socket, delivered } = await connected();
  socket.frame({ ...READY, last_seq: 3 });
  socket.frame(message(1));
  socket.frame(message(2));
  socket.frame(message(3));
  socket.frame(message(4));
  assert.deepEqual(delivered, [1, 2, 3, 4]);
  assert.deepEqual(
    socket.sent.filter((f) => f["type"] === "ack"),
    [
      { type: "ack", seq: 3 },
      { type: "ack", seq: 4 },
    ],
  );
});

test("a duplicate is dropped, and a gap resumes at once from the last seq delivered instead of skipping", async () => {
  const { client, socket, delivered, timers } = await connected();
  socket.frame({ ...READY, last_seq: 0 });
  socket.frame(message(1));
  socket.frame(message(1));
  socket.frame(message(3));
  assert.deepEqual(delivered, [1]);
  assert.equal(socket.closedWith, 1000);
  assert.deepEqual(timers.waiting(), [0]);
  timers.advance(0);
  await settle();
  const again = ScriptedSocket.made.at(-1)!;
  again.open();
  assert.deepEqual(again.sent, [{ type: "auth", token: "token-2", last_seq: 1 }]);
  again.frame({ ...READY, last_seq: 3 });
  again.frame(message(2));
  again.frame(message(3));
  assert.deepEqual(delivered, [1, 2, 3]);
  assert.equal(client.lastSeq, 3);
});

test("an accepted one above the last seq delivers the user's own message; a later one waits for its message frame", async () => {
  const { client, socket } = await connected();
  const own: string[] = [];
  client.on("message", (m) => own.push(`${m.seq}:${m.author}:${m.text}`));
  socket.frame({ ...READY, last_seq: 0 });
  const first = client.send("hello");
  socket.frame({ type: "accepted", client_id: first, seq: 1, id: "u1", created_at: "2026-01-01T00:00:00Z" });
  const second = client.send("again");
  socket.frame({ type: "accepted", client_id: second, seq: 3, id: "u3", created_at: "2026-01-01T00:00:00Z" });
  assert.deepEqual(own, ["1:user:hello"]);
  socket.frame(message(2, "answer"));
  socket.frame({ ...(message(3, "again") as object), author: "user", client_id: second } as ServerFrame);
  assert.deepEqual(own, ["1:user:hello", "2:assistant:answer", "3:user:again"]);
  assert.equal(client.pending.size, 0);
});

test("messages not accepted are sent again with the same client id after the next ready", async () => {
  const { client, socket, timers } = await connected();
  socket.frame({ ...READY, last_seq: 0 });
  const id = client.send("are you there?");
  socket.drop(1006);
  client.send("hello?", "00000000-0000-4000-8000-0000000000aa");
  timers.advance(1_000);
  await settle();
  const again = ScriptedSocket.made.at(-1)!;
  again.open();
  again.frame({ ...READY, last_seq: 0 });
  assert.deepEqual(again.sent.slice(1), [
    { type: "message", client_id: id, text: "are you there?" },
    { type: "message", client_id: "00000000-0000-4000-8000-0000000000aa", text: "hello?" },
  ]);
});

test("backoff has full jitter under a ceiling that doubles from 500 ms to 30 s", () => {
  const ceilings = Array.from({ length: 10 }, (_, n) => backoffDelay(n, () => 0.999999));
  assert.deepEqual(ceilings, [499, 999, 1999, 3999, 7999, 15999, 29999, 29999, 29999, 29999]);
  assert.equal(backoffDelay(5, () => 0), 0);
});

test("repeated failures back off further each time, and a ready resets it", async () => {
  const { socket, timers } = await connected(new ManualTimers(), 0, () => 0.999999);
  socket.drop(1013);
  assert.deepEqual(timers.waiting(), [499]);
  timers.advance(499);
  await settle();
  ScriptedSocket.made.at(-1)!.drop(1006);
  assert.deepEqual(timers.waiting(), [999]);
  timers.advance(999);
  await settle();
  const third = ScriptedSocket.made.at(-1)!;
  third.open();
  third.frame({ ...READY, last_seq: 0 });
  third.drop(1013);
  assert.deepEqual(timers.waiting(), [499]);
});

test("4403 is final: no timer, no new socket, state closed", async () => {
  const { client, socket, timers } = await connected();
  const closes: boolean[] = [];
  client.on("closed", (c) => closes.push(c.final));
  socket.drop(4403, "forbidden");
  assert.deepEqual(closes, [true]);
  assert.equal(timers.scheduled.size, 0);
  assert.equal(client.state, "closed");
});

test("reauth_required asks getToken for a fresh token and sends reauth, at most once per interval", async () => {
  const { socket, timers, tokens } = await connected();
  socket.frame({ ...READY, last_seq: 0 });
  socket.frame({ type: "reauth_required", expires_in: 60 });
  await settle();
  assert.deepEqual(socket.sent.at(-1), { type: "reauth", token: "token-2" });
  socket.frame({ type: "reauth_required", expires_in: 60 });
  await settle();
  assert.equal(tokens(), 2);
  timers.advance(5_000);
  await settle();
  assert.equal(tokens(), 3);
  assert.deepEqual(socket.sent.at(-1), { type: "reauth", token: "token-3" });
});

test("an unsubscribed listener hears nothing more", async () => {
  const { client, socket } = await connected();
  const heard: string[] = [];
  const stop = client.on("typing", (t) => heard.push(String(t.state)));
  socket.frame({ ...READY, last_seq: 0 });
  socket.frame({ type: "typing", author: "assistant", state: true });
  stop();
  socket.frame({ type: "typing", author: "assistant", state: false });
  assert.deepEqual(heard, ["true"]);
});

test("frames of another protocol version stop the client", async () => {
  const { client, socket } = await connected();
  socket.frame({ ...READY, protocol: 2, last_seq: 0 });
  assert.equal(client.state, "closed");
});

test("pause closes the socket without reconnecting, and connect resumes from the last seq with what is pending", async () => {
  const { client, socket, timers } = await connected();
  socket.frame({ ...READY, last_seq: 0 });
  socket.frame(message(1));
  client.pause();
  const id = client.send("from the background");
  assert.equal(socket.closedWith, 1000);
  assert.equal(timers.scheduled.size, 0);
  assert.equal(client.state, "idle");
  client.connect();
  await settle();
  const again = ScriptedSocket.made.at(-1)!;
  again.open();
  again.frame({ ...READY, last_seq: 1 });
  assert.deepEqual(again.sent, [
    { type: "auth", token: "token-2", last_seq: 1 },
    { type: "message", client_id: id, text: "from the background" },
  ]);
});

test("a visitor authenticates as a new visitor, then comes back with the visitor token its ready gave", async () => {
  ScriptedSocket.made = [];
  const timers = new ManualTimers();
  const client = new ParlourChat({ url: "wss://p.example", widgetId: "w", visitor: true, WebSocket: ScriptedSocket, timers, random: () => 0 });
  client.connect();
  await settle();
  const first = ScriptedSocket.made.at(-1)!;
  first.open();
  first.frame({ ...READY, last_seq: 0, visitor_token: "v1" });
  first.frame(message(1));
  first.drop(1006);
  timers.advance(0);
  await settle();
  const second = ScriptedSocket.made.at(-1)!;
  second.open();
  // Refused at auth (the token was spent): the next connect is a new visitor, from seq 0.
  second.drop(4401);
  timers.advance(1_000);
  await settle();
  const third = ScriptedSocket.made.at(-1)!;
  third.open();
  assert.deepEqual(
    [first.sent[0], second.sent[0], third.sent[0]],
    [
      { type: "auth", visitor: true },
      { type: "auth", visitor_token: "v1", last_seq: 1 },
      { type: "auth", visitor: true },
    ],
  );
});

test("a client is given exactly one of getToken and visitor", () => {
  const base = { url: "wss://p.example", widgetId: "w", WebSocket: ScriptedSocket };
  assert.throws(() => new ParlourChat(base), TypeError);
  assert.throws(() => new ParlourChat({ ...base, visitor: true, getToken: async () => "t" }), TypeError);
});
