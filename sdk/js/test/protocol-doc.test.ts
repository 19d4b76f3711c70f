/**
 * The SDK's frames are docs/protocol.md's frames: every frame type and field in its two tables
 * (client → server, server → client) is in the SDK's types, and the SDK has none the document
 * does not name; the close codes too. The lists are the SDK's own exports, which the compiler
 * holds equal to its TypeScript types (src/frames.ts).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { CLIENT_FRAME_FIELDS, CLOSE_CODES, SERVER_FRAME_FIELDS } from "../src/index.js";

// PROTOCOL_DOC: another copy of the document to check against (another branch's, say).
const DOC = readFileSync(process.env["PROTOCOL_DOC"] ?? new URL("../../../../docs/protocol.md", import.meta.url), "utf8");

/**
 * Frames the SDK speaks that docs/protocol.md does not yet name on this branch: the middle
 * band's choices (branch `choices`, docs/protocol.md §3.6). Used only while the document lacks
 * them; once it has them, they are checked like every other frame.
 */
const AWAITING_DOC: Record<"client" | "server", Record<string, readonly string[]>> = {
  client: { choose: ["message_id", "choice"] },
  server: { chosen: ["message_id", "choice"], message: ["choices"] },
};

type Table = Map<string, Set<string>>;

/** The rows of the table under `heading`: frame type(s) → field names. */
function framesUnder(heading: string): Table {
  const start = DOC.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `docs/protocol.md has no "${heading}"`);
  const rows = DOC.slice(start).split("\n").slice(2);
  const table: Table = new Map();
  let inTable = false;
  for (const row of rows) {
    if (!row.startsWith("|")) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    const cells = row.split("|").map((cell) => cell.trim());
    const [, typeCell = "", fieldCell = ""] = cells;
    if (typeCell === "type" || typeCell.startsWith("---")) continue;
    const types = names(typeCell);
    // "`rated` has `score`": a row of several frames names whose fields are whose.
    const owned = /^`(\w+)` has (.*)$/.exec(fieldCell);
    for (const type of types) {
      const fields = owned === null ? names(fieldCell) : owned[1] === type ? names(owned[2] ?? "") : [];
      table.set(type, new Set(fields));
    }
  }
  return table;
}

/** The backticked names in a cell, leaving out what parentheses say about them (values, ranges). */
function names(cell: string): string[] {
  let text = cell;
  for (let previous = ""; previous !== text; ) {
    previous = text;
    text = text.replace(/\([^()]*\)/g, "");
  }
  return [...text.matchAll(/`([a-z_]+)(?::[^`]*)?`/g)].map((match) => match[1] ?? "");
}

function sdkTable(fields: Record<string, readonly string[]>, awaiting: Record<string, readonly string[]>, doc: Table): Table {
  const table: Table = new Map();
  for (const [type, list] of Object.entries(fields)) {
    const documented = doc.get(type);
    const waiting = awaiting[type] ?? [];
    if (documented === undefined && waiting.length > 0 && list.every((f) => waiting.includes(f))) continue;
    table.set(type, new Set(list.filter((f) => documented?.has(f) || !waiting.includes(f))));
  }
  return table;
}

function plain(table: Table): Record<string, string[]> {
  return Object.fromEntries([...table].sort(([a], [b]) => a.localeCompare(b)).map(([t, f]) => [t, [...f].sort()]));
}

test("every client → server frame and field in docs/protocol.md is typed in the SDK, and no other", () => {
  const doc = framesUnder("### Client → server");
  assert.ok(doc.size >= 11);
  assert.deepEqual(plain(sdkTable(CLIENT_FRAME_FIELDS, AWAITING_DOC.client, doc)), plain(doc));
});

test("every server → client frame and field in docs/protocol.md is typed in the SDK, and no other", () => {
  const doc = framesUnder("### Server → client");
  assert.ok(doc.size >= 14);
  assert.deepEqual(plain(sdkTable(SERVER_FRAME_FIELDS, AWAITING_DOC.server, doc)), plain(doc));
});

test("every close code in docs/protocol.md §5 has the SDK's advice, and 4403 alone is final", () => {
  const section = DOC.slice(DOC.indexOf("## 5. Errors and close codes"), DOC.indexOf("## 6."));
  const codes = [...section.matchAll(/^\| (\d{4})\b/gm)].map((m) => Number(m[1])).sort();
  assert.deepEqual(Object.keys(CLOSE_CODES).map(Number).sort(), codes);
  assert.deepEqual(
    Object.entries(CLOSE_CODES).filter(([, advice]) => advice === "final").map(([code]) => code),
    ["4403"],
  );
  const stop = /^\| 4403 \|.*\| stop \|$/m.test(section);
  assert.ok(stop, "docs/protocol.md says a client stops after 4403");
});
