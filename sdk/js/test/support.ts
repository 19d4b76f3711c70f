/**
 * The tests' side of a real Parlour server (test/server.py): starting it, minting tokens
 * through its API with the organisation's API key (as an integrator's backend does), moving
 * its clock, and a WebSocket class (the `ws` package) that records its sockets and, for a web
 * page, sends the page's Origin as a browser would.
 */

import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { WebSocket as NodeWebSocket } from "ws";

import type { WebSocketConstructor, WebSocketLike } from "../src/index.js";

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));
const PYTHON = process.env["PARLOUR_SDK_TEST_PYTHON"] ?? `${REPO}.venv/bin/python`;
const START_TIMEOUT_MS = 90_000; // the child imports Parlour and embeds the FAQ: ~10 s on 2 cores
export const WAIT_MS = 15_000; // the longest any test waits for one event
/** The server's own log (its stderr), kept out of the test report. */
export const SERVER_LOG = fileURLToPath(new URL("../server.log", import.meta.url)); // build/server.log

export interface Seeded {
  url: string;
  tenant_id: string;
  widget_id: string;
  api_key: string;
  origin: string;
  app_id: string;
}

export class Server {
  private constructor(
    readonly seeded: Seeded,
    private readonly child: ChildProcess,
  ) {}

  static async start(): Promise<Server> {
    const child = spawn(PYTHON, [`${REPO}sdk/js/test/server.py`], {
      cwd: REPO,
      env: { ...withoutParlourSettings(process.env), PYTHONPATH: `${REPO}src:${REPO}` },
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stderr!.pipe(createWriteStream(SERVER_LOG));
    const lines = createInterface({ input: child.stdout! });
    const first = once(lines, "line") as Promise<[string]>;
    const exited = once(child, "exit").then(([code]) => {
      throw new Error(`test/server.py exited with ${String(code)} before it served (its log: ${SERVER_LOG})`);
    });
    const [line] = await within(Promise.race([first, exited]), START_TIMEOUT_MS, "the server to start");
    return new Server(JSON.parse(line) as Seeded, child);
  }

  get wsUrl(): string {
    return this.seeded.url.replace(/^http/, "ws");
  }

  /** A fresh token for `userId`, from the real API: bound to the web origin, or to the app. */
  async mint(userId: string, bound: { app: true } | { origin: true } = { origin: true }): Promise<string> {
    const body = "app" in bound ? { user_id: userId, app_id: this.seeded.app_id } : { user_id: userId, origin: this.seeded.origin };
    const answer = await fetch(`${this.seeded.url}/v1/end-user-tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.seeded.api_key}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (answer.status !== 201) throw new Error(`minting answered ${answer.status}: ${await answer.text()}`);
    return ((await answer.json()) as { token: string }).token;
  }

  /** Sign a customer out everywhere (their open sockets close with 4401 at the next round). */
  async revoke(userId: string): Promise<void> {
    const answer = await fetch(`${this.seeded.url}/v1/end-users/${encodeURIComponent(userId)}/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.seeded.api_key}` },
    });
    if (answer.status !== 204) throw new Error(`revoking answered ${answer.status}`);
  }

  /** Move the server's clock; its timers due (token warnings and expiry, rounds) fire. */
  async advance(seconds: number): Promise<void> {
    const answer = await fetch(`${this.seeded.url}/_sdk_test/advance?seconds=${seconds}`, { method: "POST" });
    if (answer.status !== 200) throw new Error(`advancing answered ${answer.status}`);
  }

  async stop(): Promise<void> {
    const exited = once(this.child, "exit");
    this.child.stdin!.end();
    await within(exited, 20_000, "the server to stop").catch(() => this.child.kill("SIGKILL"));
  }
}

function withoutParlourSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("PARLOUR_")));
}

/** `promise`, or a rejection naming what did not happen within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A `ws` WebSocket class whose sockets the test can reach (to drop one); `origin` for a web page. */
export function recordingWebSocket(origin?: string): { WebSocket: WebSocketConstructor; sockets: NodeWebSocket[] } {
  const sockets: NodeWebSocket[] = [];
  class Recorded extends NodeWebSocket {
    constructor(url: string) {
      super(url, origin === undefined ? {} : { origin });
      sockets.push(this);
    }
  }
  return { WebSocket: Recorded as unknown as new (url: string) => WebSocketLike, sockets };
}

/** Timers the test fires itself, and a clock it moves. */
export class ManualTimers {
  nowMs = 0;
  private nextId = 1;
  readonly scheduled = new Map<number, { at: number; callback: () => void }>();

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.scheduled.set(id, { at: this.nowMs + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.scheduled.delete(handle as number);
  }

  now(): number {
    return this.nowMs;
  }

  /** The delays asked for, in order, of the timers still waiting. */
  waiting(): number[] {
    return [...this.scheduled.values()].map((t) => t.at - this.nowMs);
  }

  /** Fire every timer due within `ms`. */
  advance(ms: number): void {
    this.nowMs += ms;
    for (const [id, timer] of [...this.scheduled]) {
      if (timer.at <= this.nowMs) {
        this.scheduled.delete(id);
        timer.callback();
      }
    }
  }
}
