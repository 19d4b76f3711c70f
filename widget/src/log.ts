/**
 * The conversation as the customer sees it, in the panel's log: messages as text (an answer's
 * [1], [2] linked to its citations), grouped (a run of messages by the same author reads as
 * one, an agent's run signed once with their name and initials), each with its time in the
 * customer's language; the answer still being written; the organisation's greeting; "Seen".
 */

import { el, safeLink } from "./dom.js";
import type { Strings } from "./strings.js";
import type { Attachment, Author, Citation } from "../../sdk/js/src/frames.js";

export interface Shown {
  author: Author;
  text: string;
  citations?: readonly Citation[];
  created_at?: string;
  author_name?: string | undefined;
  attachments?: readonly Attachment[] | undefined;
}

export class Log {
  private seenNode: HTMLLIElement | null = null;
  private readonly bySeq = new Map<number, HTMLLIElement>();
  private greetingNode: HTMLLIElement | null = null;

  constructor(
    readonly list: HTMLOListElement,
    private readonly strings: Strings,
    /** Parlour's origin: the only place a file's links may point to. */
    private readonly server: string = "",
  ) {}

  /** A message's files (docs/protocol.md §3.7): an image's thumbnail, drawn by Parlour, and a
   * link that downloads the original, which is never shown inline. */
  files(item: HTMLElement, attachments: readonly Attachment[] | undefined): void {
    if (!Array.isArray(attachments) || attachments.length === 0 || item.querySelector(".files")) return;
    const list = el("ul", { class: "files" });
    for (const file of attachments) {
      const url = this.ours(file.url);
      if (url === null) continue;
      const line = el("li");
      const thumbnail = this.ours(file.thumbnail_url);
      if (thumbnail !== null) {
        line.append(el("img", { src: thumbnail, alt: String(file.name), loading: "lazy",
          referrerpolicy: "no-referrer" }));
      }
      line.append(el("a", { href: url, download: "", rel: "noopener noreferrer" }, String(file.name)));
      list.append(line);
    }
    if (list.childElementCount) item.append(list);
  }

  private ours(value: unknown): string | null {
    if (typeof value !== "string" || !this.server) return null;
    try {
      const url = new URL(value);
      return url.origin === this.server && url.pathname.startsWith("/v1/attachments/") ? url.href : null;
    } catch {
      return null;
    }
  }

  /** The organisation's greeting, as the assistant's first bubble while the log has nothing
   * else (it is never sent to the server). */
  greet(text: string | null): void {
    this.greetingNode?.remove();
    this.greetingNode = null;
    if (text === null || this.list.querySelector(".msg")) return;
    this.greetingNode = el("li", { class: "greeting" }, text);
    this.list.prepend(this.greetingNode);
  }

  clear(greeting: string | null): void {
    this.list.replaceChildren();
    this.bySeq.clear();
    this.seenNode = null;
    this.greet(greeting);
  }

  /** A message, appended: its text, its citations, its time; signed if it starts an agent's run. */
  add(message: Shown, pending = false): HTMLLIElement {
    const previous = this.lastMessage();
    const name = message.author === "agent" ? this.agentName(message.author_name) : "";
    const continues = previous !== null && previous.dataset["author"] === message.author
      && (previous.dataset["name"] ?? "") === name && this.list.lastElementChild === previous;
    if (message.author === "agent" && !continues) this.sign(name);
    const item = el("li", { class: `msg ${message.author}${pending ? " pending" : ""}${continues ? " cont" : ""}` });
    item.dataset["author"] = message.author;
    if (name) item.dataset["name"] = name;
    this.fill(item, message);
    this.files(item, message.attachments);
    this.stamp(item, message.created_at);
    this.list.append(item);
    this.scroll();
    return item;
  }

  /** The time a message was stored (its frame's created_at), shown under it. */
  stamp(item: HTMLElement, createdAt: string | undefined): void {
    if (createdAt === undefined) return;
    const shown = this.strings.time(createdAt);
    if (!shown) return;
    item.dataset["time"] = shown;
    item.title = new Date(createdAt).toLocaleString(this.strings.lang);
  }

  /** The user's own message, now stored as `seq` (for "Seen"). */
  own(item: HTMLLIElement, seq: number): void {
    item.classList.remove("pending");
    item.dataset["seq"] = String(seq);
    this.bySeq.set(seq, item);
  }

  byClientId(clientId: string): HTMLLIElement | null {
    return this.list.querySelector<HTMLLIElement>(`[data-client-id="${CSS.escape(clientId)}"]`);
  }

  /** Part of an answer still being written: text as it comes, never markup. */
  stream(streamId: string, text: string): void {
    let node = this.streamNode(streamId);
    if (node === null) {
      node = this.add({ author: "assistant", text: "" });
      node.classList.add("streaming");
      node.dataset["streamId"] = streamId;
    }
    (node.firstChild as Text).appendData(text);
    this.scroll();
  }

  streamNode(id: string): HTMLLIElement | null {
    return this.list.querySelector<HTMLLIElement>(`[data-stream-id="${CSS.escape(id)}"]`);
  }

  /** The people read up to `seq`: "Seen" under the user's latest message at or before it. */
  seen(seq: number): void {
    let latest = 0;
    for (const own of this.bySeq.keys()) if (own <= seq && own > latest) latest = own;
    const node = this.bySeq.get(latest);
    if (node === undefined) return;
    if (this.seenNode === null) this.seenNode = el("li", { class: "seen" }, this.strings.t("seen"));
    node.after(this.seenNode);
  }

  append(node: HTMLElement): void {
    this.list.append(node);
    this.scroll();
  }

  scroll(): void {
    this.list.scrollTop = this.list.scrollHeight;
  }

  private lastMessage(): HTMLLIElement | null {
    const all = this.list.querySelectorAll<HTMLLIElement>(".msg:not(.streaming)");
    return all.length ? (all[all.length - 1] ?? null) : null;
  }

  private agentName(name: string | undefined): string {
    return typeof name === "string" && name.trim() ? name.trim() : this.strings.t("support");
  }

  private fill(item: HTMLLIElement, message: Shown): void {
    const citations = Array.isArray(message.citations) ? message.citations : [];
    // An answer's [1], [2] name its citations in order (docs/protocol.md); other text is text.
    const numbered = message.author === "assistant" && citations.length > 0;
    const parts = numbered ? String(message.text).split(/\[(\d{1,3})\]/) : [String(message.text)];
    item.append(document.createTextNode(parts[0] ?? ""));
    let marked = false;
    for (let i = 1; i < parts.length; i += 2) {
      const n = Number(parts[i]);
      const citation = n >= 1 && n <= citations.length ? citations[n - 1] : undefined;
      if (citation !== undefined) {
        const mark = el("sup", { class: "cite", title: String(citation.title) });
        mark.append(citationNode(citation, `[${n}]`));
        item.append(mark);
        marked = true;
      } else {
        item.append(document.createTextNode(`[${parts[i] ?? ""}]`));
      }
      item.append(document.createTextNode(parts[i + 1] ?? ""));
    }
    if (citations.length) {
      const sources = el("ul", { class: "sources", "aria-label": this.strings.t("sources") });
      citations.forEach((citation, i) => {
        const line = el("li", {}, `${marked ? `[${i + 1}] ` : ""}${this.strings.t("source")} `);
        line.append(citationNode(citation, String(citation.title)));
        sources.append(line);
      });
      item.append(sources);
    }
  }

  /** Above the first of an agent's run: their name and an avatar of their initials on a colour
   * of a fixed palette (never an image from elsewhere). */
  private sign(name: string): void {
    const who = el("li", { class: "who" });
    const avatar = el("span", { class: `avatar c${avatarColour(name)}`, "aria-hidden": "true" }, initials(name));
    who.append(avatar, el("span", { class: "name" }, name));
    this.list.append(who);
  }
}

/** A citation whose source has a page is a link to it, opened apart from the host page;
 * otherwise its title as text. The address is checked again here: https, a host, no
 * credentials, whatever the server sent. */
function citationNode(citation: Citation, label: string): Node {
  const url = safeLink(citation.url);
  if (url === null) return document.createTextNode(label);
  return el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, label);
}

export function initials(name: string): string {
  const words = name.split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0] ?? "", words[words.length - 1] ?? ""] : words;
  return letters.map((word) => Array.from(word)[0] ?? "").join("").toUpperCase();
}

/** One of the stylesheet's six avatar colours (.avatar.c0 … .c5), the same for a name. */
function avatarColour(name: string): number {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return hash % 6;
}
