/**
 * A client for Parlour's chat protocol (docs/protocol.md), with no DOM: it runs in browsers,
 * React Native and Node (given a WebSocket constructor where there is no global one).
 *
 * It keeps the protocol's promises on the client side, like the Python reference client
 * (src/parlour/client.py): it remembers the last sequence number it delivered and resumes from
 * it after every reconnect; it drops duplicates and, on a gap, resumes rather than deliver out
 * of order; it acknowledges what it delivered (cumulatively: the catch-up after `ready` once, at
 * its last frame); it sends again, with the same client id, every message not yet `accepted`.
 *
 * Tokens are held in memory only, for the moment they are sent: `getToken` is asked for a fresh
 * one on every connect and every `reauth_required`, and nothing is ever written to storage
 * (T-107).
 */

import { backoffDelay, type BackoffOptions } from "./backoff.js";
import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  SERVER_FRAME_TYPES,
  type AcceptedFrame,
  type AvailabilityFrame,
  type ChosenFrame,
  type ClientFrame,
  type CloseAdvice,
  type ContactSavedFrame,
  type DeltaFrame,
  type DurableFrame,
  type ErrorFrame,
  type FeedbackSavedFrame,
  type HandoffFrame,
  type MessageFrame,
  type RatedFrame,
  type ReadyFrame,
  type ReauthRequiredFrame,
  type ServerFrame,
  type ServerReadFrame,
  type ServerTypingFrame,
  type Thumbs,
  type TranscriptQueuedFrame,
  type UploadTicketFrame,
} from "./frames.js";

/** The part of the WebSocket API the client uses: browsers', React Native's and `ws`'s. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Milliseconds, for spacing reauths. */
  now(): number;
}

/** What `upload` accepts: a browser's or React Native's Blob (a File is one), or bytes. */
export interface BlobLike {
  readonly size: number;
}
export type UploadBody = BlobLike | Uint8Array;

/** The part of `fetch` the client uses for uploads (browsers', React Native's, Node 18+'s). */
export type FetchLike = (
  url: string,
  init: { method: "POST"; headers: Record<string, string>; body: UploadBody },
) => Promise<{ status: number; json(): Promise<unknown> }>;

/** An uploaded file, not yet sent: name its `id` in `send(text, { attachments })`. */
export interface UploadedFile {
  id: string;
  name: string;
  content_type: string;
  size: number;
  thumbnail: boolean;
}

/** An upload the server refused (`code` from docs/errors.md: `attachment_type_refused`,
 * `payload_too_large`, `attachment_limit_reached`, `rate_limited`, `invalid_upload_ticket`…). */
export class UploadError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "UploadError";
  }
}

export type ConnectionState = "idle" | "connecting" | "open" | "waiting" | "closed";

export interface ClosedEvent {
  /** The close code (docs/protocol.md §5); 1006 when the connection was lost. */
  code: number;
  reason: string;
  /** true: the client stopped and will not reconnect (4403, `close()`, a protocol mismatch). */
  final: boolean;
  /** When not final: how long until the next attempt, in milliseconds. */
  retryInMs?: number;
}

export interface ParlourChatEvents {
  /** Authenticated; the catch-up after the given `last_seq` follows. */
  ready: ReadyFrame;
  /** A durable message, in order and once only (the user's own, delivered by its `accepted`, included). */
  message: MessageFrame;
  /** Who handles the conversation now (durable, in order, once only). */
  handoff: HandoffFrame;
  /** The user's message is stored (`seq`), whether or not a `message` event carried it. */
  accepted: AcceptedFrame;
  delta: DeltaFrame;
  typing: ServerTypingFrame;
  /** The organisation's people have read up to `seq`. */
  read: ServerReadFrame;
  availability: AvailabilityFrame;
  contact_saved: ContactSavedFrame;
  transcript_queued: TranscriptQueuedFrame;
  rated: RatedFrame;
  feedback_saved: FeedbackSavedFrame;
  chosen: ChosenFrame;
  /** A ticket for one upload (`upload` asks for it and uses it). */
  upload_ticket: UploadTicketFrame;
  /** The server refused the last frame; the socket stays open. */
  error: ErrorFrame;
  /** The server asked for a fresh token, and `getToken` gave one that was sent. */
  reauth: { expires_in: number };
  state: ConnectionState;
  closed: ClosedEvent;
  /** Every frame the server sent, as it came (duplicates included), for logging. */
  frame: ServerFrame;
  /** `getToken` failed or the socket could not be opened; the client retries with backoff. */
  failure: { stage: "token" | "socket" | "frame"; error: unknown };
}
export type EventName = keyof ParlourChatEvents;
type Listener<E extends EventName> = (payload: ParlourChatEvents[E]) => void;

export interface ParlourChatOptions {
  /** Parlour's base URL, `wss://…` (or `ws://` on a developer's machine). */
  url: string;
  /** The organisation's public widget id. */
  widgetId: string;
  /** A fresh token from your own backend (docs/protocol.md §1); asked before every connect and
   * reauth. Exactly one of `getToken` and `visitor`. */
  getToken?: () => Promise<string>;
  /** An anonymous visitor, where the organisation allows them: `true` for a new one, or the
   * `visitor_token` of a previous `ready` to come back to the same conversation. The client
   * keeps each new `visitor_token` in memory and comes back with it after a reconnect; keeping
   * one across page loads (for the browser tab, say) is the application's choice. */
  visitor?: true | { token: string };
  /** Where there is no global WebSocket (Node 20): e.g. the `ws` package's class. */
  WebSocket?: WebSocketConstructor;
  /** Resume after this sequence number (what a previous client delivered); 0 receives everything. */
  lastSeq?: number;
  backoff?: BackoffOptions;
  /** The least time between two reauths, in milliseconds (5,000). */
  minReauthIntervalMs?: number;
  /** For tests: the jitter's random source (Math.random) and the timers (the global ones). */
  random?: () => number;
  timers?: Timers;
  /** A random UUID (crypto.randomUUID where present). */
  randomUUID?: () => string;
  /** Where there is no global fetch, for `upload`. */
  fetch?: FetchLike;
}

const OPEN = 1;

export class ParlourChat {
  /** The highest sequence number delivered to the application. */
  lastSeq: number;
  /** Messages sent but not yet accepted: client id → text. Sent again after every reconnect. */
  readonly pending = new Map<string, string>();
  conversationId: string | null = null;
  people = false;
  state: ConnectionState = "idle";

  private readonly options: ParlourChatOptions;
  private readonly listeners = new Map<EventName, Set<Listener<EventName>>>();
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly randomUUID: () => string;
  private ws: WebSocketLike | null = null;
  private authenticated = false;
  private catchingUpTo = 0;
  private attempt = 0;
  private retryTimer: unknown = null;
  private reauthTimer: unknown = null;
  private reauthing = false;
  private lastReauthAt = -Infinity;
  private stopped = false;
  private generation = 0;
  private visitorToken: string | null = null;
  /** Files the pending messages carry: client id → attachment ids. */
  private readonly pendingFiles = new Map<string, readonly string[]>();
  /** Uploads waiting for their ticket, in the order they asked (tickets come in that order). */
  private readonly ticketWaiters: { resolve: (frame: UploadTicketFrame) => void; reject: (error: Error) => void }[] = [];

  constructor(options: ParlourChatOptions) {
    this.options = options;
    this.lastSeq = options.lastSeq ?? 0;
    this.random = options.random ?? Math.random;
    this.timers = options.timers ?? defaultTimers();
    const impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (impl === undefined) {
      throw new TypeError("No WebSocket here: pass options.WebSocket (e.g. the ws package's class).");
    }
    this.WebSocketImpl = impl;
    this.randomUUID = options.randomUUID ?? defaultRandomUUID;
    if ((options.getToken === undefined) === (options.visitor === undefined)) {
      throw new TypeError("Give exactly one of getToken (a customer) and visitor (an anonymous visitor).");
    }
    this.visitorToken = typeof options.visitor === "object" ? options.visitor.token : null;
  }

  // ---- The event API --------------------------------------------------------------------

  /** Call `fn` on each `event`; returns the function that stops it. */
  on<E extends EventName>(event: E, fn: Listener<E>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    const listener = fn as Listener<EventName>;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  private emit<E extends EventName>(event: E, payload: ParlourChatEvents[E]): void {
    for (const fn of [...(this.listeners.get(event) ?? [])]) {
      fn(payload);
    }
  }

  // ---- Connecting ----------------------------------------------------------------------

  /** Open the socket (and keep it open, reconnecting, until `close()` or a final close code). */
  connect(): void {
    if (this.stopped) throw new Error("This client was closed; make a new one.");
    if (this.state === "connecting" || this.state === "open") return;
    this.clearTimers(); // a reconnect that was waiting goes now
    void this.open();
  }

  /** Close the socket and stay closed until `connect()` (an app going to the background): the
   * last seq, the pending messages and the listeners are kept, so `connect()` resumes. */
  pause(): void {
    if (this.stopped) return;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    this.authenticated = false;
    this.generation++;
    if (ws !== null) ws.close(1000, "client paused");
    this.attempt = 0;
    this.setState("idle");
  }

  /** Close for good: no reconnect. Pending messages stay in `pending`. */
  close(): void {
    this.stopped = true;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    this.generation++;
    if (ws !== null) ws.close(1000, "client closed");
    this.setState("closed");
    this.emit("closed", { code: 1000, reason: "client closed", final: true });
  }

  private async open(): Promise<void> {
    const generation = ++this.generation;
    this.setState("connecting");
    let token: string | null;
    try {
      token = this.options.getToken === undefined ? null : await this.options.getToken();
    } catch (error) {
      if (generation !== this.generation) return;
      this.emit("failure", { stage: "token", error });
      this.retry(1006, "no token", "backoff");
      return;
    }
    if (generation !== this.generation) return;
    let ws: WebSocketLike;
    try {
      ws = new this.WebSocketImpl(`${this.options.url.replace(/\/+$/, "")}/v1/chat/${encodeURIComponent(this.options.widgetId)}`);
    } catch (error) {
      this.emit("failure", { stage: "socket", error });
      this.retry(1006, "could not open", "backoff");
      return;
    }
    this.ws = ws;
    this.authenticated = false;
    ws.onopen = () => {
      const who: ClientFrame =
        token !== null
          ? { type: "auth", token }
          : this.visitorToken !== null
            ? { type: "auth", visitor_token: this.visitorToken }
            : { type: "auth", visitor: true };
      ws.send(JSON.stringify(this.lastSeq > 0 ? { ...who, last_seq: this.lastSeq } : who));
      token = null; // held no longer than needed
    };
    ws.onmessage = (event) => {
      if (this.ws === ws) this.receive(event.data);
    };
    ws.onerror = () => {
      // A close event follows; it decides.
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      const wasReady = this.authenticated;
      this.ws = null;
      this.authenticated = false;
      this.clearReauth();
      const advice: CloseAdvice = (CLOSE_CODES as Record<number, CloseAdvice>)[event.code] ?? "backoff";
      if (event.code === 4401 && !wasReady && this.options.visitor !== undefined && this.visitorToken !== null) {
        // A visitor token works once: one refused at `auth` (spent on a socket whose `ready`
        // never came, or too old) cannot come back. The next connect is a new visitor, in a
        // new conversation (its `ready` says so).
        this.visitorToken = null;
        this.lastSeq = 0;
      }
      this.retry(event.code, event.reason, advice);
    };
  }

  /** After a close: stop for good (a final code), or try again after a jittered backoff (at
   * once only for this client's own gap resume). */
  private retry(code: number, reason: string, advice: CloseAdvice, immediate = false): void {
    if (this.stopped) return;
    if (advice === "final") {
      this.stopped = true;
      this.clearTimers();
      this.setState("closed");
      this.emit("closed", { code, reason, final: true });
      return;
    }
    // Every close backs off with full jitter, so a server's restart (1001, 1013) is not met by
    // every client at once.
    const delay = immediate ? 0 : backoffDelay(this.attempt, this.random, this.options.backoff);
    this.attempt++;
    this.setState("waiting");
    this.emit("closed", { code, reason, final: false, retryInMs: delay });
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) void this.open();
    }, delay);
  }

  // ---- Frames in ------------------------------------------------------------------------

  private receive(data: unknown): void {
    let frame: ServerFrame;
    try {
      const parsed: unknown = JSON.parse(typeof data === "string" ? data : String(data));
      if (!isServerFrame(parsed)) throw new Error("not a frame of protocol v1");
      frame = parsed;
    } catch (error) {
      this.emit("failure", { stage: "frame", error });
      return;
    }
    this.emit("frame", frame);
    switch (frame.type) {
      case "ready":
        return this.onReady(frame);
      case "accepted":
        return this.onAccepted(frame);
      case "message":
      case "handoff":
        return this.onDurable(frame);
      case "reauth_required":
        return this.onReauthRequired(frame);
      case "delta":
        return this.emit("delta", frame);
      case "typing":
        return this.emit("typing", frame);
      case "read":
        return this.emit("read", frame);
      case "availability":
        return this.emit("availability", frame);
      case "contact_saved":
        return this.emit("contact_saved", frame);
      case "transcript_queued":
        return this.emit("transcript_queued", frame);
      case "rated":
        return this.emit("rated", frame);
      case "feedback_saved":
        return this.emit("feedback_saved", frame);
      case "chosen":
        return this.emit("chosen", frame);
      case "upload_ticket":
        this.ticketWaiters.shift()?.resolve(frame);
        return this.emit("upload_ticket", frame);
      case "error":
        if (frame.code === "rate_limited" || frame.code === "invalid_input") {
          // An `upload` refused (too fast, or not offered): its waiter hears it.
          this.ticketWaiters.shift()?.reject(new UploadError(frame.code, frame.message, 0));
        }
        return this.emit("error", frame);
    }
  }

  private onReady(frame: ReadyFrame): void {
    if (frame.protocol !== PROTOCOL_VERSION) {
      this.close();
      this.emit("failure", { stage: "frame", error: new Error(`server speaks protocol ${frame.protocol}`) });
      return;
    }
    this.authenticated = true;
    this.attempt = 0;
    this.conversationId = frame.conversation_id;
    this.people = frame.people;
    if (frame.visitor_token !== undefined) this.visitorToken = frame.visitor_token;
    this.catchingUpTo = frame.last_seq;
    this.setState("open");
    this.emit("ready", frame);
    for (const [client_id, text] of this.pending) {
      this.send_(this.messageFrame(client_id, text));
    }
  }

  private onAccepted(frame: AcceptedFrame): void {
    const text = this.pending.get(frame.client_id);
    this.pending.delete(frame.client_id);
    this.pendingFiles.delete(frame.client_id);
    this.emit("accepted", frame);
    if (frame.seq === this.lastSeq + 1 && text !== undefined) {
      // It delivers our own message: no `message` frame follows for it on this socket (§4).
      this.deliver({
        type: "message",
        seq: frame.seq,
        id: frame.id,
        author: "user",
        text,
        citations: [],
        created_at: frame.created_at,
        client_id: frame.client_id,
        ...(frame.attachments === undefined ? {} : { attachments: frame.attachments }),
      });
    } else if (frame.seq === this.lastSeq + 1) {
      // Accepted, but this client no longer has the text (another client's pending): the
      // message frame that the server would not send cannot be built; resume to be sent it.
      this.resumeNow("accepted without its text");
    }
  }

  private onDurable(frame: DurableFrame): void {
    if (frame.seq <= this.lastSeq) return; // already delivered
    if (frame.seq > this.lastSeq + 1) {
      this.resumeNow(`gap: expected seq ${this.lastSeq + 1}, got ${frame.seq}`);
      return;
    }
    if (frame.type === "message" && frame.client_id !== undefined) {
      this.pending.delete(frame.client_id);
      this.pendingFiles.delete(frame.client_id);
    }
    this.deliver(frame);
  }

  private deliver(frame: DurableFrame): void {
    this.lastSeq = frame.seq;
    if (frame.type === "message") this.emit("message", frame);
    else this.emit("handoff", frame);
    if (frame.seq >= this.catchingUpTo) this.send_({ type: "ack", seq: frame.seq });
  }

  /** Drop this socket and resume at once from `lastSeq` (gap fill). */
  private resumeNow(reason: string): void {
    const ws = this.ws;
    if (ws === null) return;
    this.ws = null;
    this.authenticated = false;
    this.clearReauth();
    ws.close(1000, reason.slice(0, 120));
    this.retry(1000, reason, "resume", true);
  }

  private onReauthRequired(frame: ReauthRequiredFrame): void {
    if (this.options.getToken === undefined) return; // a visitor comes back with its visitor token
    if (this.reauthing || this.reauthTimer !== null) return;
    const minInterval = this.options.minReauthIntervalMs ?? 5_000;
    const wait = Math.max(0, this.lastReauthAt + minInterval - this.timers.now());
    const go = (): void => {
      this.reauthTimer = null;
      void this.reauth(frame.expires_in);
    };
    if (wait === 0) go();
    else this.reauthTimer = this.timers.setTimeout(go, wait);
  }

  private async reauth(expiresIn: number): Promise<void> {
    const ws = this.ws;
    if (ws === null) return;
    this.reauthing = true;
    try {
      const token = await this.options.getToken!();
      if (this.ws !== ws || ws.readyState !== OPEN) return; // the next connect takes a fresh one
      ws.send(JSON.stringify({ type: "reauth", token } satisfies ClientFrame));
      this.lastReauthAt = this.timers.now();
      this.emit("reauth", { expires_in: expiresIn });
    } catch (error) {
      // The socket closes with 4401 at expiry; the next connect asks for a token again.
      this.emit("failure", { stage: "token", error });
    } finally {
      this.reauthing = false;
    }
  }

  // ---- Frames out -----------------------------------------------------------------------

  /** Send a message; it is kept (and sent again after a reconnect) until `accepted`. Its client id.
   * `attachments`: ids of files `upload` returned (the text may then be ""). */
  send(text: string, clientId: string = this.randomUUID(), attachments: readonly string[] = []): string {
    this.pending.set(clientId, text);
    if (attachments.length > 0) this.pendingFiles.set(clientId, [...attachments]);
    if (this.authenticated) this.send_(this.messageFrame(clientId, text));
    return clientId;
  }

  /** Upload one file to this conversation (docs/protocol.md §3.7): asks the socket for a ticket,
   * then posts the bytes with it. Send the returned id with `send(text, undefined, [id])`.
   * Rejects with an `UploadError` when the server refuses the file or the ticket. */
  async upload(file: UploadBody, name: string): Promise<UploadedFile> {
    const fetchImpl = this.options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch;
    if (fetchImpl === undefined) throw new TypeError("No fetch here: pass options.fetch.");
    const ticket = await this.ticket();
    if (!sameHost(ticket.url, this.options.url)) {
      throw new UploadError("invalid_upload_ticket", "The upload URL is not this server's.", 0);
    }
    const size = file instanceof Uint8Array ? file.byteLength : file.size;
    if (size > ticket.max_bytes) {
      throw new UploadError("payload_too_large", `A file may be at most ${ticket.max_bytes} bytes.`, 413);
    }
    const answer = await fetchImpl(ticket.url, {
      method: "POST",
      headers: { authorization: `Bearer ${ticket.ticket}`, "x-parlour-filename": encodeURIComponent(name) },
      body: file,
    });
    const body = (await answer.json().catch(() => ({}))) as {
      error?: { code?: string; message?: string };
    } & Partial<UploadedFile>;
    if (answer.status !== 201 || typeof body.id !== "string") {
      throw new UploadError(body.error?.code ?? "upload_failed", body.error?.message ?? "The upload failed.", answer.status);
    }
    return {
      id: body.id,
      name: String(body.name),
      content_type: String(body.content_type),
      size: Number(body.size),
      thumbnail: body.thumbnail === true,
    };
  }

  /** The next upload ticket the socket is given (one per `upload` frame, in order). */
  private ticket(): Promise<UploadTicketFrame> {
    return new Promise<UploadTicketFrame>((resolve, reject) => {
      if (!this.send_({ type: "upload" })) {
        reject(new UploadError("not_connected", "Not connected; upload once the chat is open.", 0));
        return;
      }
      const waiter = { resolve, reject };
      this.ticketWaiters.push(waiter);
      const timer = this.timers.setTimeout(() => {
        const at = this.ticketWaiters.indexOf(waiter);
        if (at >= 0) {
          this.ticketWaiters.splice(at, 1);
          reject(new UploadError("no_ticket", "No upload ticket came; try again.", 0));
        }
      }, 15_000);
      const done = (): void => this.timers.clearTimeout(timer);
      waiter.resolve = (frame) => {
        done();
        resolve(frame);
      };
      waiter.reject = (error) => {
        done();
        reject(error);
      };
    });
  }

  private messageFrame(clientId: string, text: string): ClientFrame {
    const files = this.pendingFiles.get(clientId);
    return files === undefined
      ? { type: "message", client_id: clientId, text }
      : { type: "message", client_id: clientId, text, attachments: [...files] };
  }

  /** The user is (or stopped) typing. Dropped while disconnected. */
  typing(state: boolean): boolean {
    return this.send_({ type: "typing", state });
  }

  /** The user has seen up to `seq` (at most what was delivered). */
  markRead(seq: number = this.lastSeq): boolean {
    return this.send_({ type: "read", seq: Math.min(seq, this.lastSeq) });
  }

  /** Ask for a person (docs/protocol.md §3.3). */
  handoff(): boolean {
    return this.send_({ type: "handoff" });
  }

  /** Pick one of an offer's choices (§3.6). */
  choose(messageId: string, choice: string): boolean {
    return this.send_({ type: "choose", message_id: messageId, choice });
  }

  /** Thumbs up or down on an assistant's answer (§3.5). */
  feedback(messageId: string, thumbs: Thumbs): boolean {
    return this.send_({ type: "feedback", id: messageId, thumbs });
  }

  /** Leave an e-mail address for replies (§3.4). */
  contact(email: string): boolean {
    return this.send_({ type: "contact", email });
  }

  /** Mail me this conversation (§3.4). */
  transcript(): boolean {
    return this.send_({ type: "transcript" });
  }

  /** Rate the latest resolution (§3.4). */
  rate(score: 1 | 2 | 3 | 4 | 5, comment?: string): boolean {
    return this.send_(comment === undefined ? { type: "rate", score } : { type: "rate", score, comment });
  }

  /** Send one frame now; false when there is no authenticated socket (it is not queued). */
  private send_(frame: ClientFrame): boolean {
    const ws = this.ws;
    if (ws === null || !this.authenticated || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  // ---- Housekeeping ---------------------------------------------------------------------

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", state);
  }

  private clearReauth(): void {
    if (this.reauthTimer !== null) this.timers.clearTimeout(this.reauthTimer);
    this.reauthTimer = null;
  }

  private clearTimers(): void {
    this.clearReauth();
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

/** Whether `url` (http or https) is on the host of the socket's `socketUrl` (ws or wss), so an
 * upload ticket is never sent anywhere else. */
function sameHost(url: string, socketUrl: string): boolean {
  const host = (u: string): string | null => /^(?:https?|wss?):\/\/([^/?#]+)/i.exec(u)?.[1]?.toLowerCase() ?? null;
  const secure = (u: string): boolean => /^(?:https|wss):/i.test(u);
  return host(url) !== null && host(url) === host(socketUrl) && secure(url) === secure(socketUrl);
}

function isServerFrame(value: unknown): value is ServerFrame {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { type?: unknown }).type === "string" &&
    SERVER_FRAME_TYPES.has((value as { type: string }).type)
  );
}

function defaultTimers(): Timers {
  const g = globalThis as unknown as {
    setTimeout: (callback: () => void, ms: number) => unknown;
    clearTimeout: (handle: unknown) => void;
  };
  return {
    setTimeout: (callback, ms) => g.setTimeout(callback, ms),
    clearTimeout: (handle) => g.clearTimeout(handle),
    now: () => Date.now(),
  };
}

function defaultRandomUUID(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string; getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (c?.randomUUID !== undefined) return c.randomUUID();
  if (c?.getRandomValues === undefined) {
    throw new TypeError("No crypto.getRandomValues here: pass options.randomUUID (React Native: react-native-get-random-values).");
  }
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
