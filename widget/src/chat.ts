/**
 * The live widget: the view wired to a ParlourChat (sdk/js), which does all the protocol's
 * work (the token or visitor auth, resume, acks, gap fill, reconnect with backoff, reauth).
 * This side decides what the customer sees and when the server is told what they have read.
 *
 * A customer's token comes from the organisation's getToken() and stays in memory (the SDK
 * holds it only until it is sent); a visitor's return token is kept in sessionStorage, this
 * tab only, so a reload finds the same conversation.
 */

import { ParlourChat, UploadError } from "../../sdk/js/src/client.js";
import type { AvailabilityFrame, HandoffFrame, MessageFrame } from "../../sdk/js/src/frames.js";
import { answerOffers, awayCard, choices, ratingCard, thumbs, transcriptButton } from "./cards.js";
import type { WidgetConfig } from "./config.js";
import { el } from "./dom.js";
import { Log } from "./log.js";
import type { Key, Strings } from "./strings.js";
import { View } from "./view.js";

// What the customer has seen is told at most this often.
const READ_DELAY_MS = 300;
// The user counts as typing until this long after their last keystroke.
const TYPING_IDLE_MS = 3_000;

export interface InitOptions {
  server: string;
  widgetId: string;
  getToken?: () => Promise<string>;
  title?: string;
}

export class LiveWidget {
  readonly view: View;
  private readonly log: Log;
  private readonly strings: Strings;
  private readonly config: WidgetConfig;
  private readonly chat: ParlourChat;
  private readonly visitorKey: string;
  private readonly visitor: boolean;
  private started = false;
  private withPeople = false;
  private readSent = 0;
  private readTimer: ReturnType<typeof setTimeout> | null = null;
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private awayNode: HTMLLIElement | null = null;
  private ratingNode: HTMLLIElement | null = null;

  constructor(options: InitOptions, strings: Strings, config: WidgetConfig) {
    this.strings = strings;
    this.config = config;
    this.visitor = typeof options.getToken !== "function";
    this.visitorKey = `parlour:visitor:${options.widgetId}`;
    const server = new URL(options.server);
    const url = `${server.protocol === "https:" ? "wss:" : "ws:"}//${server.host}`;
    const stored = this.visitor ? this.storage("get") : null;
    this.chat = new ParlourChat(
      options.getToken !== undefined && !this.visitor
        ? { url, widgetId: options.widgetId, getToken: options.getToken }
        : { url, widgetId: options.widgetId, visitor: stored !== null ? { token: stored } : true },
    );
    this.view = new View({ strings, config, title: options.title });
    this.log = new Log(this.view.log, strings, server.origin);
    this.log.greet(config.greeting);
    this.listen();
    this.bindView();
  }

  private t(...args: Parameters<Strings["t"]>): string {
    return this.strings.t(...args);
  }

  // ---- The view's events ----------------------------------------------------------------

  private bindView(): void {
    const view = this.view;
    view.onToggle = (open) => {
      if (open && !this.started) {
        this.started = true;
        view.setStatus(this.t("connecting"));
        this.chat.connect();
      }
      if (open) this.markRead();
    };
    document.addEventListener("visibilitychange", () => this.markRead());
    view.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendInput();
    });
    view.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        this.sendInput();
      }
    });
    view.input.addEventListener("input", () => this.typing(view.input.value.trim() !== ""));
    const picker = view.fileInput;
    if (picker !== null) {
      picker.addEventListener("change", () => {
        const file = picker.files?.[0];
        picker.value = "";
        if (file !== undefined) void this.sendFile(file);
      });
    }
    const askForPerson = (button: HTMLButtonElement): void => {
      if (this.chat.handoff()) button.hidden = true;
    };
    view.personButton.addEventListener("click", () => askForPerson(view.personButton));
    view.handoffButton.addEventListener("click", () => askForPerson(view.handoffButton));
  }

  /** Upload one file with a ticket from the socket, then send it (docs/protocol.md §3.7). */
  private async sendFile(file: File): Promise<void> {
    try {
      const uploaded = await this.chat.upload(file, file.name);
      answerOffers(this.view.log);
      const clientId = this.chat.send("", undefined, [uploaded.id]);
      const node = this.log.add({ author: "user", text: "" }, true);
      node.dataset["clientId"] = clientId;
    } catch (error) {
      this.view.setStatus(this.t(uploadRefusal(error)));
    }
  }

  private sendInput(): void {
    const text = this.view.input.value.trim();
    if (!text) return;
    this.view.input.value = "";
    this.typing(false);
    answerOffers(this.view.log);
    const clientId = this.chat.send(text);
    const node = this.log.add({ author: "user", text }, true);
    node.dataset["clientId"] = clientId;
  }

  /** Tell the server the user is typing when they start, and that they stopped when they
   * send, clear the box or pause: state changes only, never one frame a keystroke. */
  private typing(state: boolean): void {
    if (this.typingTimer !== null) clearTimeout(this.typingTimer);
    this.typingTimer = null;
    if (state) this.typingTimer = setTimeout(() => this.typing(false), TYPING_IDLE_MS);
    if (state === this.typingSent) return;
    if (this.chat.typing(state)) this.typingSent = state;
  }
  private typingSent = false;

  // ---- The SDK's events -----------------------------------------------------------------

  private listen(): void {
    const chat = this.chat;
    chat.on("ready", (frame) => {
      this.view.setStatus("");
      if (this.visitor && typeof frame.visitor_token === "string") this.storage("set", frame.visitor_token);
      if (chat.lastSeq === 0 && this.view.log.querySelector(".msg:not(.pending)")) {
        // Everything is replayed from the start (a visitor whose return token was spent is
        // in a new conversation): what was shown goes, the messages not yet sent stay.
        const pending = [...this.view.log.querySelectorAll(".msg.pending")];
        this.log.clear(this.config.greeting);
        for (const node of pending) this.log.append(node as HTMLElement);
      }
      this.readSent = 0;
      this.typingSent = false;
      this.showPersonButton();
      this.markRead();
    });
    chat.on("accepted", (frame) => {
      const node = this.log.byClientId(frame.client_id);
      if (node !== null) {
        this.log.own(node, frame.seq);
        this.log.stamp(node, frame.created_at);
      }
      this.markRead();
    });
    chat.on("message", (frame) => this.message(frame));
    chat.on("handoff", (frame) => this.handoff(frame));
    chat.on("delta", (frame) => {
      if (typeof frame.stream_id === "string" && typeof frame.text === "string") this.log.stream(frame.stream_id, frame.text);
    });
    chat.on("typing", (frame) => {
      const who = frame.author === "agent"
        ? (typeof frame.name === "string" && frame.name.trim() ? frame.name.trim() : this.t("support"))
        : this.t("assistant");
      this.view.setStatus(frame.state ? this.t("typing", { name: who }) : "");
    });
    chat.on("read", (frame) => this.log.seen(frame.seq));
    chat.on("availability", (frame) => this.away(frame));
    chat.on("contact_saved", () => {
      this.view.setStatus(this.t("contact_saved"));
      const form = this.awayNode?.querySelector("form.contact");
      if (form) {
        if (this.config.features.transcript) form.replaceWith(transcriptButton(this.strings, () => chat.transcript()));
        else form.remove();
      }
    });
    chat.on("transcript_queued", () => this.view.setStatus(this.t("transcript_queued")));
    chat.on("rated", () => this.ratingNode?.replaceChildren(el("p", {}, this.t("rating_thanks"))));
    chat.on("feedback_saved", (frame) => {
      const group = this.view.log.querySelector<HTMLElement>(`.thumbs[data-answer-id="${CSS.escape(frame.id)}"]`);
      if (group) group.dataset["saved"] = frame.thumbs === "down" ? "down" : "up";
      this.view.setStatus(this.t("feedback_thanks"));
    });
    chat.on("error", (frame) => this.view.setStatus(frame.message || this.t("failed")));
    chat.on("failure", (failure) => {
      if (failure.stage !== "frame") this.view.setStatus(this.t("unavailable"));
    });
    chat.on("closed", (event) => {
      if (event.final) {
        if (event.code !== 1000) this.view.setStatus(this.t("not_on_page"));
        return;
      }
      if (this.visitor && event.code === 4401 && chat.lastSeq === 0) {
        // The return token was used up or expired: the next connect is a new visitor.
        this.storage("drop");
      }
      this.view.setStatus(this.t("reconnecting"));
    });
  }

  private message(frame: MessageFrame): void {
    answerOffers(this.view.log);
    const own = frame.client_id !== undefined ? this.log.byClientId(frame.client_id) : null;
    if (own !== null) {
      this.log.own(own, frame.seq);
      this.log.stamp(own, frame.created_at);
      this.log.files(own, frame.attachments);
    } else {
      // The answer streamed so far is replaced by the whole, filtered message.
      this.log.streamNode(frame.id)?.remove();
      const node = this.log.add(frame);
      if (frame.author === "user") this.log.own(node, frame.seq);
      else this.view.countUnread();
      const offer = frame.author === "assistant" && typeof frame.id === "string"
        && Array.isArray(frame.choices) && frame.choices.length > 0;
      if (offer) {
        node.append(choices(this.strings, frame.id, frame.choices ?? [], (choice) => this.chat.choose(frame.id, choice),
          () => this.noneOfThese()));
      } else if (frame.author === "assistant" && typeof frame.id === "string") {
        node.append(thumbs(this.strings, frame.id, (value) => this.chat.feedback(frame.id, value)));
      }
      // Offered after a refusal only where the header's button is not there already; an
      // offer of choices has its own "None of these".
      this.view.handoffButton.hidden = offer || !(frame.actions ?? []).includes("handoff")
        || this.canAskForPerson() || !this.config.features.person;
    }
    this.markRead();
  }

  private noneOfThese(): boolean {
    if (this.canAskForPerson()) return this.chat.handoff();
    this.view.setStatus(this.t("tell_more"));
    this.view.input.focus();
    return true;
  }

  private handoff(frame: HandoffFrame): void {
    answerOffers(this.view.log);
    const key = frame.state === "queued" ? "handoff_queued"
      : frame.state === "agent_joined" ? "handoff_joined"
      : frame.state === "resolved" ? "handoff_resolved"
      : "handoff_returned";
    this.log.add({ author: "system", text: this.t(key), created_at: frame.created_at });
    this.view.countUnread();
    this.view.handoffButton.hidden = true;
    this.withPeople = frame.state === "queued" || frame.state === "agent_joined";
    this.showPersonButton();
    this.ratingNode?.remove();
    this.ratingNode = null;
    if (frame.state === "resolved" && this.config.features.rating) {
      this.ratingNode = ratingCard(this.strings, (score, comment) => this.chat.rate(score, comment));
      this.log.append(this.ratingNode);
    }
    this.markRead();
  }

  private away(frame: AvailabilityFrame): void {
    this.awayNode?.remove();
    this.awayNode = awayCard(this.strings, frame, {
      contact: (email) => this.chat.contact(email),
      transcript: this.config.features.transcript ? () => this.chat.transcript() : null,
    });
    this.log.append(this.awayNode);
  }

  /** "Talk to a person" in the header, where the organisation's people can be asked for
   * (ready.people, features.person) and nobody has the conversation yet. */
  private canAskForPerson(): boolean {
    return this.config.features.person && this.chat.people && !this.withPeople;
  }

  private showPersonButton(): void {
    this.view.personButton.hidden = !this.canAskForPerson();
    if (this.canAskForPerson()) this.view.handoffButton.hidden = true;
  }

  /** Read receipts: what the customer has seen (the panel open, the tab visible) goes up as a
   * `read` frame, one for a burst (at most one each READ_DELAY_MS). */
  private markRead(): void {
    if (this.readTimer !== null) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      if (!this.view.isOpen || document.visibilityState === "hidden") return;
      if (this.chat.lastSeq <= this.readSent) return;
      const seq = this.chat.lastSeq;
      if (this.chat.markRead(seq)) this.readSent = seq;
    }, READ_DELAY_MS);
  }

  // sessionStorage may be unavailable (privacy settings); the visitor then starts afresh.
  private storage(action: "get" | "set" | "drop", value = ""): string | null {
    try {
      if (action === "get") return window.sessionStorage.getItem(this.visitorKey);
      if (action === "set") window.sessionStorage.setItem(this.visitorKey, value);
      if (action === "drop") window.sessionStorage.removeItem(this.visitorKey);
    } catch {
      // not available
    }
    return null;
  }
}

/** What the customer is told when a file is not taken: why, where the server said why. */
function uploadRefusal(error: unknown): Key {
  if (!(error instanceof UploadError)) return "failed";
  if (error.code === "attachment_type_refused") return "file_type_refused";
  if (error.code === "payload_too_large") return "file_too_large";
  if (error.code === "attachment_limit_reached") return "file_limit";
  return "failed";
}
