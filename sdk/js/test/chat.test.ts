/**
 * The SDK against a real Parlour server (test/server.py): answers with citations, resume after a
 * dropped socket, reauth, close codes, and a mobile app's client (an app id, no Origin).
 */

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  ParlourChat,
  type ClosedEvent,
  type DurableFrame,
  type EventName,
  type ParlourChatEvents,
  type ParlourChatOptions,
  UploadError,
} from "../src/index.js";
import { ManualTimers, recordingWebSocket, Server, WAIT_MS, within } from "./support.js";

let server: Server;
/** A 1 x 1 PNG: a real image, judged by its content. */
const ONE_PIXEL_PNG = Uint8Array.from(
  Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64"),
);
const clients: ParlourChat[] = [];

/** Storage that fails the test if touched: the SDK keeps tokens in memory only (T-107). */
const STORAGE_GLOBALS = ["localStorage", "sessionStorage", "indexedDB", "AsyncStorage"] as const;
const touched: string[] = [];

before(async () => {
  for (const name of STORAGE_GLOBALS) {
    Object.defineProperty(globalThis, name, {
      configurable: true,
      get() {
        touched.push(name);
        throw new Error(`${name} touched`);
      },
    });
  }
  server = await Server.start();
});

after(async () => {
  for (const client of clients) client.close();
  for (const name of STORAGE_GLOBALS) delete (globalThis as Record<string, unknown>)[name];
  await server?.stop();
});

function chat(options: Partial<ParlourChatOptions>): ParlourChat {
  const client = new ParlourChat({
    url: server.wsUrl,
    widgetId: server.seeded.widget_id,
    WebSocket: recordingWebSocket(server.seeded.origin).WebSocket,
    ...options,
  });
  clients.push(client);
  return client;
}

/** The next `event` that matches, within WAIT_MS. */
function next<E extends EventName>(
  client: ParlourChat,
  event: E,
  match: (payload: ParlourChatEvents[E]) => boolean = () => true,
): Promise<ParlourChatEvents[E]> {
  let stop = (): void => {};
  const seen = new Promise<ParlourChatEvents[E]>((resolve) => {
    stop = client.on(event, (payload) => {
      if (match(payload)) resolve(payload);
    });
  });
  return within(seen, WAIT_MS, `${event}`).finally(() => stop());
}

/** Every durable frame the application is given, in the order given. */
function transcript(client: ParlourChat): DurableFrame[] {
  const frames: DurableFrame[] = [];
  client.on("message", (frame) => frames.push(frame));
  client.on("handoff", (frame) => frames.push(frame));
  return frames;
}

function counted(mint: () => Promise<string>): { getToken: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    getToken: () => {
      calls++;
      return mint();
    },
    calls: () => calls,
  };
}

describe("the SDK against a real server", () => {
  test("a customer's question gets the assistant's answer, citing the FAQ entry it came from", async () => {
    const client = chat({ getToken: () => server.mint("answer-1") });
    const ready = next(client, "ready");
    client.connect();
    assert.equal((await ready).protocol, 1);

    const answer = next(client, "message", (m) => m.author === "assistant");
    const clientId = client.send("How do I reset my password?");
    const reply = await answer;

    assert.match(reply.text, /Forgot password/);
    assert.deepEqual(
      reply.citations.map((c) => c.title),
      ["How do I reset my password?"],
    );
    assert.equal(client.pending.size, 0);
    assert.match(clientId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    client.close();
  });

  test("a dropped socket resumes with nothing lost and nothing twice, and unaccepted messages are sent again once", async () => {
    const sockets = recordingWebSocket(server.seeded.origin);
    const timers = new ManualTimers();
    const client = chat({
      getToken: () => server.mint("resume-1"),
      WebSocket: sockets.WebSocket,
      timers,
      random: () => 0.5,
    });
    const frames = transcript(client);
    let ready = next(client, "ready");
    client.connect();
    await ready;
    const first = next(client, "message", (m) => m.author === "assistant");
    client.send("What are your opening hours?");
    await first;

    // Two questions leave, and the socket is killed under them (not closed: the TCP connection
    // goes, as on a train entering a tunnel), before any answer can come back.
    client.send("How do I block my card?");
    client.send("How do I reset my password?");
    const dropped = next(client, "closed");
    sockets.sockets.at(-1)!.terminate();
    const closed = await dropped;
    assert.equal(closed.final, false);
    assert.equal(closed.code, 1006);

    // It waits as the backoff says (full jitter, random 0.5 of the first ceiling of 500 ms).
    assert.deepEqual(timers.waiting(), [250]);
    // A question written while there is no socket waits, and goes after the next ready.
    client.send("What are your opening hours?");
    ready = next(client, "ready");
    const both = new Promise<void>((resolve) => {
      client.on("message", () => {
        if (frames.filter((f) => f.type === "message" && f.author === "assistant").length === 4) resolve();
      });
    });
    timers.advance(250);
    await ready;
    await within(both, WAIT_MS, "the three answers");
    // Nothing more is owed: a check with a second client that reads the whole history.
    const reader = chat({ getToken: () => server.mint("resume-1") });
    const history = transcript(reader);
    const readerReady = next(reader, "ready");
    reader.connect();
    const lastSeq = client.lastSeq;
    const caughtUp = next(reader, "message", (m) => m.seq === lastSeq);
    await readerReady;
    await caughtUp;

    const seqs = frames.map((f) => f.seq);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1));
    assert.deepEqual(
      frames.map((f) => (f.type === "message" ? `${f.author}:${f.text}` : f.state)),
      history.map((f) => (f.type === "message" ? `${f.author}:${f.text}` : f.state)),
    );
    const questions = frames.filter((f) => f.type === "message" && f.author === "user");
    assert.equal(questions.length, 4);
    assert.equal(new Set(questions.map((q) => q.type === "message" && q.client_id)).size, 4);
    assert.equal(client.pending.size, 0);
    assert.equal(sockets.sockets.length, 2);
    client.close();
    reader.close();
  });

  test("a message sent again with the same client id is stored once and accepted with its first seq", async () => {
    const client = chat({ getToken: () => server.mint("idempotent-1") });
    const frames = transcript(client);
    const ready = next(client, "ready");
    client.connect();
    await ready;
    const clientId = "3b241101-e2bb-4255-8caf-4136c566a962";
    let accepted = next(client, "accepted");
    client.send("Where is my parcel?", clientId);
    const first = await accepted;
    accepted = next(client, "accepted");
    client.send("Where is my parcel?", clientId); // as after a reconnect that lost the accepted
    const second = await accepted;

    assert.deepEqual([second.client_id, second.seq, second.id], [clientId, first.seq, first.id]);
    assert.equal(frames.filter((f) => f.type === "message" && f.client_id === clientId).length, 1);
    client.close();
  });

  test("reauth before expiry keeps the socket open past the first token's expiry", async () => {
    const tokens = counted(() => server.mint("reauth-1"));
    const client = chat({ getToken: tokens.getToken });
    const closes: ClosedEvent[] = [];
    client.on("closed", (event) => closes.push(event));
    const ready = next(client, "ready");
    client.connect();
    await ready;

    // 60 s before the token's 10 minutes end, the server asks for a fresh one.
    const reauthed = next(client, "reauth");
    await server.advance(545);
    assert.ok((await reauthed).expires_in <= 60);
    // A round trip on the socket: the server has read the reauth before this message.
    let accepted = next(client, "accepted");
    client.send("Still there?");
    await accepted;

    await server.advance(100); // past the first token's expiry and its leeway
    accepted = next(client, "accepted");
    client.send("And now?");
    await accepted;

    assert.equal(tokens.calls(), 2);
    assert.deepEqual(closes, []);
    assert.equal(client.state, "open");
    client.close();
  });

  test("a close with 4401 (the customer was signed out) reconnects with a fresh token", async () => {
    const tokens = counted(() => server.mint("revoked-1"));
    const timers = new ManualTimers();
    const client = chat({ getToken: tokens.getToken, timers, random: () => 0 });
    let ready = next(client, "ready");
    client.connect();
    await ready;

    const closed = next(client, "closed");
    await server.revoke("revoked-1");
    await server.advance(31); // the next round of identity checks
    const event = await closed;
    assert.deepEqual([event.code, event.final], [4401, false]);

    ready = next(client, "ready");
    timers.advance(0);
    await ready;
    assert.equal(tokens.calls(), 2);
    assert.equal(client.state, "open");
    client.close();
  });

  test("a final close code (4403: an app's token on a web page) stops the client, with no reconnect", async () => {
    const tokens = counted(() => server.mint("final-1", { app: true }));
    const timers = new ManualTimers();
    const client = chat({ getToken: tokens.getToken, timers });
    const closed = next(client, "closed");
    client.connect();
    const event = await closed;

    assert.deepEqual([event.code, event.final], [4403, true]);
    assert.equal(client.state, "closed");
    assert.equal(timers.scheduled.size, 0);
    assert.equal(tokens.calls(), 1);
    assert.throws(() => client.connect());
  });

  test("a mobile app's client (an app id, no Origin) chats, asks for a person and gives thumbs", async () => {
    const client = chat({
      getToken: () => server.mint("mobile-1", { app: true }),
      WebSocket: recordingWebSocket().WebSocket, // no Origin, as a native app
    });
    const ready = next(client, "ready");
    client.connect();
    assert.equal((await ready).people, true);

    const answer = next(client, "message", (m) => m.author === "assistant");
    client.send("How do I block my card?");
    const reply = await answer;
    assert.equal(reply.citations[0]?.title, "How do I block my card?");

    const saved = next(client, "feedback_saved");
    assert.equal(client.feedback(reply.id, "up"), true);
    assert.deepEqual(await saved, { type: "feedback_saved", id: reply.id, thumbs: "up" });

    const queued = next(client, "handoff");
    client.handoff();
    assert.equal((await queued).state, "queued");

    const typing = client.typing(true);
    const read = client.markRead();
    assert.deepEqual([typing, read], [true, true]);

    // A pick for a message that is no offer is refused, and the socket stays open.
    const refused = next(client, "error");
    client.choose(reply.id, "1");
    const error = await refused;
    assert.ok(["not_an_offer", "bad_frame"].includes(error.code), error.code);
    assert.equal(client.state, "open");
    client.close();
  });

  test("an anonymous visitor comes back to its conversation with the visitor token of its last ready", async () => {
    const sockets = recordingWebSocket(server.seeded.origin);
    const timers = new ManualTimers();
    const client = chat({ visitor: true, WebSocket: sockets.WebSocket, timers, random: () => 0 });
    let ready = next(client, "ready");
    client.connect();
    const first = await ready;
    const accepted = next(client, "accepted");
    client.send("What are your opening hours?");
    await accepted;

    ready = next(client, "ready");
    sockets.sockets.at(-1)!.terminate();
    await next(client, "closed");
    timers.advance(0);
    const again = await ready;

    assert.equal(again.conversation_id, first.conversation_id);
    assert.ok(first.visitor_token && again.visitor_token && again.visitor_token !== first.visitor_token);
    assert.ok(client.lastSeq >= 1);
    client.close();
  });

  test("a customer uploads a file with a socket ticket and sends it; the message carries its signed links (T-102)", async () => {
    const client = chat({ getToken: () => server.mint("files-1") });
    const ready = next(client, "ready");
    client.connect();
    await ready;

    const uploaded = await client.upload(ONE_PIXEL_PNG, "reçu.png");
    assert.equal(uploaded.name, "reçu.png");
    assert.equal(uploaded.content_type, "image/png");
    assert.equal(uploaded.size, ONE_PIXEL_PNG.byteLength);
    assert.equal(uploaded.thumbnail, true);

    const delivered = next(client, "message", (m) => m.author === "user" && m.attachments !== undefined);
    client.send("", undefined, [uploaded.id]);
    const message = await delivered;
    const [file] = message.attachments ?? [];
    assert.equal(file?.id, uploaded.id);
    assert.equal(file?.content_type, "image/png");
    assert.ok(file?.thumbnail_url);

    const original = await fetch(file.url);
    assert.equal(original.status, 200);
    assert.match(original.headers.get("content-disposition") ?? "", /^attachment;/);
    assert.equal(original.headers.get("x-content-type-options"), "nosniff");
    assert.deepEqual(new Uint8Array(await original.arrayBuffer()), ONE_PIXEL_PNG);
    const thumbnail = await fetch(file.thumbnail_url);
    assert.equal(thumbnail.headers.get("content-type"), "image/png");

    await assert.rejects(
      client.upload(new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"), "a.png"),
      (error: unknown) => error instanceof UploadError && error.code === "attachment_type_refused" && error.status === 415,
    );
    client.close();
  });

  test("no storage was touched by any client (T-107)", () => {
    assert.deepEqual(touched, []);
  });
});
