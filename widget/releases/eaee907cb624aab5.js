// Parlour chat widget, protocol v1 (docs/protocol.md).
//
// Embedded on an organisation's page with one script tag, then started with
//   Parlour.init({ server, widgetId, getToken, title })
// where getToken() asks the organisation's own backend for a short-lived end-user token.
// Without getToken the widget chats as an anonymous visitor, where the organisation allows it;
// the visitor's single-use return token is kept in sessionStorage (this tab only), so a reload
// finds the same conversation.
//
// Safety rules this file keeps: every text from the network is rendered with textContent, never
// as HTML; a customer's token lives only in memory and only travels inside the socket's first frame;
// everything the widget draws lives in a shadow root, so the host page's styles do not leak in.
// (The root is open: a closed one would not stop a hostile host page, which can patch
// attachShadow, and would shut out assistive and testing tools.)
(() => {
  "use strict";
  if (window.Parlour) return;

  const STYLE = `
    :host { all: initial; }
    * { box-sizing: border-box; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
    .launcher { position: fixed; right: 24px; bottom: 24px; width: 60px; height: 60px;
      border-radius: 50%; border: 0; background: #1f5fbf; color: #fff; cursor: pointer;
      box-shadow: 0 6px 18px rgba(0,0,0,.22); z-index: 2147483000;
      display: grid; place-items: center; }
    .launcher:focus-visible, button:focus-visible, textarea:focus-visible {
      outline: 3px solid #ffb020; outline-offset: 2px; }
    .panel { position: fixed; right: 24px; bottom: 96px; width: min(380px, calc(100vw - 32px));
      height: min(560px, calc(100vh - 120px)); display: flex; flex-direction: column;
      background: #fff; color: #1c2433; border-radius: 14px; overflow: hidden;
      box-shadow: 0 12px 40px rgba(0,0,0,.25); z-index: 2147483000; }
    .panel[hidden] { display: none; }
    header { display: flex; align-items: center; justify-content: space-between;
      padding: 12px 16px; background: #1f5fbf; color: #fff; }
    header h2 { margin: 0; font-size: 16px; font-weight: 600; }
    header button { background: transparent; border: 0; color: #fff; font-size: 22px; cursor: pointer; }
    .log { flex: 1; overflow-y: auto; margin: 0; padding: 14px; list-style: none;
      background: #f5f7fb; display: flex; flex-direction: column; gap: 8px; }
    .msg { max-width: 85%; padding: 9px 12px; border-radius: 12px; white-space: pre-wrap;
      overflow-wrap: anywhere; }
    .msg.user { align-self: flex-end; background: #1f5fbf; color: #fff; }
    .msg.user.pending { opacity: .6; }
    .msg.assistant, .msg.agent { align-self: flex-start; background: #fff; border: 1px solid #dde3ee; }
    .msg.system { align-self: center; background: transparent; color: #5a6478; font-size: 13px; }
    .sources { margin: 6px 0 0; padding: 6px 0 0; border-top: 1px solid #e6eaf2; font-size: 12.5px;
      color: #5a6478; list-style: none; }
    .status { min-height: 22px; padding: 2px 16px; font-size: 13px; color: #5a6478; background: #f5f7fb; }
    .handoff { margin: 0 14px 8px; padding: 8px; border: 1px solid #1f5fbf; border-radius: 8px;
      background: #fff; color: #1f5fbf; cursor: pointer; }
    .handoff[hidden] { display: none; }
    form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #e6eaf2; }
    textarea { flex: 1; resize: none; height: 42px; padding: 10px; border: 1px solid #c8d0de;
      border-radius: 8px; }
    form button { padding: 0 16px; border: 0; border-radius: 8px; background: #1f5fbf; color: #fff;
      cursor: pointer; }
    .person { font-size: 13px; padding: 4px 10px; border: 1px solid #fff; border-radius: 14px; }
    .person[hidden] { display: none; }
    .who { display: flex; align-items: center; gap: 6px; margin: 4px 0 -4px; font-size: 12.5px;
      font-weight: 600; color: #36415a; }
    .avatar { width: 22px; height: 22px; border-radius: 50%; display: grid; place-items: center;
      color: #fff; font-size: 10.5px; font-weight: 700; }
    .avatar.c0 { background: #1f5fbf; } .avatar.c1 { background: #2e7d4f; }
    .avatar.c2 { background: #8a4fbf; } .avatar.c3 { background: #b5482a; }
    .avatar.c4 { background: #0f7c8c; } .avatar.c5 { background: #7a5c00; }
    .seen { align-self: flex-end; font-size: 12px; color: #5a6478; margin-top: -4px; }
    .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
      clip: rect(0 0 0 0); white-space: nowrap; }
    .card { align-self: stretch; padding: 10px 12px; border: 1px solid #dde3ee; border-radius: 10px;
      background: #fff; font-size: 14px; display: flex; flex-direction: column; gap: 6px; }
    .card form { padding: 0; border: 0; }
    .card input, .card textarea { flex: 1; padding: 6px 8px; border: 1px solid #c9d1e0; border-radius: 6px; font: inherit; }
    .card .link { background: transparent; border: 0; color: #1f5fbf; padding: 0; cursor: pointer; text-align: left; }
    .stars { display: flex; gap: 4px; }
    .stars button { border: 1px solid #c9d1e0; background: #fff; border-radius: 6px; padding: 4px 8px; cursor: pointer; }
    .stars button[aria-pressed="true"] { background: #1f5fbf; color: #fff; }
    .thumbs { display: flex; gap: 6px; margin-top: 6px; white-space: normal; }
    .thumbs button { display: grid; place-items: center; padding: 3px 7px; border: 1px solid #c9d1e0;
      border-radius: 6px; background: #fff; color: #5a6478; cursor: pointer; }
    .thumbs button[aria-pressed="true"] { background: #1f5fbf; border-color: #1f5fbf; color: #fff; }
    .thumbs button:disabled { cursor: default; }
    .thumbs button:disabled[aria-pressed="false"] { opacity: .45; }
    .choices { display: flex; flex-direction: column; align-items: stretch; gap: 6px; margin-top: 8px;
      white-space: normal; }
    .choices button { padding: 7px 10px; border: 1px solid #1f5fbf; border-radius: 8px; background: #fff;
      color: #1f5fbf; font: inherit; text-align: left; cursor: pointer; }
    .choices button.none { border-color: #c9d1e0; color: #36415a; }
    .choices button[aria-pressed="true"] { background: #1f5fbf; border-color: #1f5fbf; color: #fff; }
    .choices button:disabled { cursor: default; }
    .choices button:disabled[aria-pressed="false"] { opacity: .45; }
  `;

  // Close codes after which reconnecting cannot help (docs/protocol.md).
  const FATAL = new Set([4403]);
  const MAX_BACKOFF_MS = 30000;
  // Acks are cumulative: frames shown within this long of each other are acknowledged together.
  const ACK_DELAY_MS = 100;
  // What the customer has seen is told at most this often.
  const READ_DELAY_MS = 300;

  function el(tag, attrs = {}, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A speech bubble, drawn with the DOM rather than markup or an emoji font.
  function chatIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "28");
    svg.setAttribute("height", "28");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  // A thumb, up or (turned half a circle) down, drawn with the DOM like the launcher's icon.
  function thumbIcon(down) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.5-1.1L13.2 1 " +
      "7.6 7.6C7.2 8 7 8.5 7 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z");
    path.setAttribute("fill", "currentColor");
    if (down) path.setAttribute("transform", "rotate(180 12 12)");
    svg.appendChild(path);
    return svg;
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  class Widget {
    constructor(options) {
      if (!options || !options.server || !options.widgetId) {
        throw new Error("Parlour.init needs server and widgetId (and getToken for customers)");
      }
      this.visitor = typeof options.getToken !== "function";
      this.visitorKey = `parlour:visitor:${options.widgetId}`;
      const server = new URL(options.server);
      this.socketUrl = `${server.protocol === "https:" ? "wss:" : "ws:"}//${server.host}` +
        `/v1/chat/${encodeURIComponent(options.widgetId)}`;
      this.getToken = options.getToken;
      this.people = false;       // the organisation's people can be asked for (ready.people)
      this.withPeople = false;   // a person has the conversation, or it waits for one
      this.readSent = 0;         // highest seq told to the server as seen
      this.readTimer = null;
      this.seqNodes = new Map(); // seq -> the user's own message node, for "Seen"
      this.title = options.title || "Chat with us";
      this.lastSeq = 0;          // highest sequence number shown, in order
      this.pending = new Map();  // client_id -> { text, node } not yet accepted by the server
      this.socket = null;
      this.ackTimer = null;
      this.attempt = 0;
      this.stopped = false;
    }

    mount() {
      const host = el("div", { "data-parlour-widget": "" });
      document.body.appendChild(host);
      const root = host.attachShadow({ mode: "open" });
      if ("adoptedStyleSheets" in root && typeof CSSStyleSheet.prototype.replaceSync === "function") {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(STYLE);
        root.adoptedStyleSheets = [sheet];
      } else {
        root.appendChild(el("style", {}, STYLE));
      }
      this.launcher = el("button", { class: "launcher", type: "button", "aria-label": "Open chat",
        "aria-expanded": "false", "aria-controls": "parlour-panel" });
      this.launcher.append(chatIcon());
      this.panel = el("section", { class: "panel", id: "parlour-panel", role: "dialog",
        "aria-label": this.title, hidden: "" });
      const header = el("header");
      header.append(el("h2", {}, this.title));
      const close = el("button", { type: "button", "aria-label": "Close chat" }, "×");
      header.append(this.personButtonNode(), close);
      this.log = el("ol", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Messages" });
      this.status = el("div", { class: "status", role: "status" });
      this.handoffButton = el("button", { class: "handoff", type: "button", hidden: "" }, "Talk to a person");
      this.form = el("form");
      const label = el("label", { for: "parlour-input", class: "visually-hidden" }, "Your message");
      this.input = el("textarea", { id: "parlour-input", rows: "1", maxlength: "4000",
        placeholder: "Type your question…" });
      this.form.append(label, this.input, el("button", { type: "submit" }, "Send"));
      this.panel.append(header, this.log, this.status, this.handoffButton, this.form);
      root.append(this.launcher, this.panel);

      this.launcher.addEventListener("click", () => this.toggle());
      document.addEventListener("visibilitychange", () => this.markRead());
      close.addEventListener("click", () => this.toggle(false));
      this.form.addEventListener("submit", (event) => { event.preventDefault(); this.sendInput(); });
      this.input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); this.sendInput(); }
        if (event.key === "Escape") this.toggle(false);
      });
      this.handoffButton.addEventListener("click", () => {
        this.send({ type: "handoff" });
        this.handoffButton.hidden = true;
      });
      return this;
    }

    toggle(open = this.panel.hidden) {
      this.panel.hidden = !open;
      this.launcher.setAttribute("aria-expanded", String(open));
      if (open) {
        if (!this.socket) this.connect();
        this.input.focus();
        this.markRead();
      } else {
        this.launcher.focus();
      }
    }

    async connect() {
      if (this.stopped) return;
      this.setStatus("Connecting…");
      let auth;
      try {
        auth = this.visitor ? this.visitorAuth() : { type: "auth", token: await this.getToken() };
      } catch (error) {
        this.setStatus("Chat is unavailable right now.");
        this.retryLater();
        return;
      }
      const socket = new WebSocket(this.socketUrl);
      this.socket = socket;
      socket.addEventListener("open", () => {
        if (this.lastSeq > 0) auth.last_seq = this.lastSeq;
        socket.send(JSON.stringify(auth));
      });
      socket.addEventListener("message", (event) => this.receive(event.data));
      socket.addEventListener("close", (event) => this.closed(socket, event));
    }

    visitorAuth() {
      const stored = this.storage("get");
      return stored ? { type: "auth", visitor_token: stored } : { type: "auth", visitor: true };
    }

    // sessionStorage may be unavailable (privacy settings); the visitor then starts afresh.
    storage(action, value) {
      try {
        if (action === "get") return window.sessionStorage.getItem(this.visitorKey);
        if (action === "set") window.sessionStorage.setItem(this.visitorKey, value);
        if (action === "drop") window.sessionStorage.removeItem(this.visitorKey);
      } catch { /* not available */ }
      return null;
    }

    closed(socket, event) {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.visitor && event.code === 4401) {
        // The return token was used up or expired: come back as a new visitor.
        this.storage("drop");
        this.lastSeq = 0;
        this.log.replaceChildren();
      }
      if (FATAL.has(event.code)) {
        this.stopped = true;
        this.setStatus("Chat is not available on this page.");
        return;
      }
      this.setStatus("Reconnecting…");
      this.retryLater();
    }

    retryLater() {
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
      this.attempt += 1;
      setTimeout(() => this.connect(), delay);
    }

    send(frame) {
      if (this.socket && this.socket.readyState === WebSocket.OPEN) {
        this.socket.send(JSON.stringify(frame));
        return true;
      }
      return false;
    }

    sendInput() {
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = "";
      const clientId = uuid();
      this.closeOffers();
      const node = this.render({ author: "user", text }, true);
      node.dataset.clientId = clientId;
      this.pending.set(clientId, { text, node });
      this.send({ type: "message", client_id: clientId, text });
    }

    receive(data) {
      let frame;
      try { frame = JSON.parse(data); } catch { return; }
      switch (frame.type) {
        case "ready":
          this.attempt = 0;
          this.setStatus("");
          if (this.visitor && typeof frame.visitor_token === "string") {
            this.storage("set", frame.visitor_token);
          }
          this.people = frame.people === true;
          this.readSent = 0;
          this.showPersonButton();
          this.markRead();
          // Anything the server never accepted is sent again; the client id prevents duplicates.
          for (const [clientId, { text }] of this.pending) {
            this.send({ type: "message", client_id: clientId, text });
          }
          break;
        case "accepted": {
          const entry = this.pending.get(frame.client_id);
          if (entry) {
            entry.node.classList.remove("pending");
            this.ownMessage(entry.node, frame.seq);
          }
          this.pending.delete(frame.client_id);
          // Numbered right after the last frame shown, it delivers the user's own message: no
          // `message` frame follows for it on this socket.
          if (frame.seq === this.lastSeq + 1) {
            this.lastSeq = frame.seq;
            this.acknowledge();
            this.markRead();
          }
          break;
        }
        case "message":
        case "handoff":
          this.durable(frame);
          break;
        case "availability":
          this.showAway(frame);
          break;
        case "contact_saved":
        case "transcript_queued":
        case "rated":
          this.customerNoted(frame);
          break;
        case "feedback_saved":
          this.feedbackSaved(frame);
          break;
        case "delta":
          this.streamed(frame);
          break;
        case "typing":
          this.typing(frame);
          break;
        case "read":
          this.seen(frame);
          break;
        case "reauth_required":
          this.reauth();
          break;
        case "error":
          this.setStatus(frame.message || "That did not work.");
          break;
      }
    }

    durable(frame) {
      if (typeof frame.seq !== "number" || frame.seq <= this.lastSeq) return;
      this.lastSeq = frame.seq;
      this.closeOffers();
      if (frame.type === "handoff") {
        const text = frame.state === "queued" ? "We're connecting you to a person…"
          : frame.state === "agent_joined" ? "A person has joined the chat."
          : frame.state === "resolved" ? "This conversation is resolved. Write again any time."
          : "You're back with the assistant.";
        this.render({ author: "system", text });
        this.handoffButton.hidden = true;
        this.handedOff(frame.state);
        if (frame.state === "resolved") this.askRating(); else this.ratingCard?.remove();
      } else if (frame.client_id && this.log.querySelector(`[data-client-id="${CSS.escape(frame.client_id)}"]`)) {
        const own = this.log.querySelector(`[data-client-id="${CSS.escape(frame.client_id)}"]`);
        own.classList.remove("pending");
        this.ownMessage(own, frame.seq);
      } else {
        // The answer streamed so far is replaced by the whole, filtered message.
        this.streamNode(frame.id)?.remove();
        if (frame.author === "agent") this.signAgentMessage(frame.author_name);
        const node = this.render(frame);
        if (frame.author === "user") this.ownMessage(node, frame.seq);
        if (frame.author === "agent") node.dataset.name = this.agentName;
        const offer = frame.author === "assistant" && typeof frame.id === "string"
          && Array.isArray(frame.choices) && frame.choices.length > 0;
        if (offer) node.append(this.choices(frame.id, frame.choices));
        else if (frame.author === "assistant" && typeof frame.id === "string") node.append(this.thumbs(frame.id));
        // Offered after a refusal only where the header's button is not there already; an
        // offer of choices has its own "None of these".
        this.handoffButton.hidden = offer || !(frame.actions || []).includes("handoff") || this.canAskForPerson();
      }
      this.acknowledge();
      this.markRead();
    }

    // One ack names the highest seq shown (docs/protocol.md §4), so the hundreds of frames of a
    // catch-up after a reconnect are acknowledged with a few acks, not one each. A socket that
    // has closed meanwhile sends none: the next one resumes from lastSeq anyway.
    acknowledge() {
      if (this.ackTimer) return;
      const socket = this.socket;
      this.ackTimer = setTimeout(() => {
        this.ackTimer = null;
        if (this.socket === socket) this.send({ type: "ack", seq: this.lastSeq });
      }, ACK_DELAY_MS);
    }

    // Part of an answer still being written: shown as text as it comes, never as markup.
    streamed(frame) {
      if (typeof frame.stream_id !== "string" || typeof frame.text !== "string") return;
      let node = this.streamNode(frame.stream_id);
      if (!node) {
        node = this.render({ author: "assistant", text: "" });
        node.classList.add("streaming");
        node.dataset.streamId = frame.stream_id;
      }
      node.firstChild.appendData(frame.text);
      this.log.scrollTop = this.log.scrollHeight;
    }

    streamNode(id) {
      return typeof id === "string" ? this.log.querySelector(`[data-stream-id="${CSS.escape(id)}"]`) : null;
    }

    render(message, pending = false) {
      const item = el("li", { class: `msg ${message.author}${pending ? " pending" : ""}` });
      item.append(document.createTextNode(message.text));
      if (Array.isArray(message.citations) && message.citations.length) {
        const sources = el("ul", { class: "sources", "aria-label": "Sources" });
        for (const citation of message.citations) sources.append(el("li", {}, `Source: ${citation.title}`));
        item.append(sources);
      }
      this.log.append(item);
      this.log.scrollTop = this.log.scrollHeight;
      return item;
    }

    // Thumbs up or down under each of the assistant's answers (docs/protocol.md §3.5): once per
    // answer, the first standing, so a choice made disables the pair and shows which it was.
    thumbs(id) {
      const group = el("div", { class: "thumbs", role: "group", "aria-label": "Was this answer helpful?" });
      group.dataset.answerId = id;
      for (const [value, label] of [["up", "Helpful (thumbs up)"], ["down", "Not helpful (thumbs down)"]]) {
        const button = el("button", { type: "button", "aria-pressed": "false", "aria-label": label });
        button.dataset.thumbs = value;
        button.append(thumbIcon(value === "down"));
        button.addEventListener("click", () => {
          if (!this.send({ type: "feedback", id, thumbs: value })) return;
          for (const other of group.children) {
            other.setAttribute("aria-pressed", String(other === button));
            other.disabled = true;
          }
        });
        group.append(button);
      }
      return group;
    }

    // The entries an unsure assistant offers ("Did you mean …?", docs/protocol.md §3.6): a
    // button each, titled with the entry's question, and "None of these", which asks for a
    // person where one can be asked for. A pick sends `choose` and the answer follows as a
    // message; the group then shows as answered, as it does once any later message follows.
    choices(id, offered) {
      const group = el("div", { class: "choices", role: "group", "aria-label": "Did you mean one of these?" });
      group.dataset.offerId = id;
      for (const choice of offered) {
        if (!choice || typeof choice.id !== "string" || typeof choice.title !== "string") continue;
        const button = el("button", { type: "button", "aria-pressed": "false" }, choice.title);
        button.dataset.choice = choice.id;
        button.addEventListener("click", () => {
          if (!this.send({ type: "choose", message_id: id, choice: choice.id })) return;
          this.answerOffer(group, button);
        });
        group.append(button);
      }
      const none = el("button", { type: "button", class: "none", "aria-pressed": "false" }, "None of these");
      none.addEventListener("click", () => {
        if (this.canAskForPerson()) {
          if (!this.send({ type: "handoff" })) return;
        } else {
          this.setStatus("Tell me more in your own words, and I'll look again.");
          this.input.focus();
        }
        this.answerOffer(group, none);
      });
      group.append(none);
      return group;
    }

    answerOffer(group, picked) {
      group.dataset.answered = "true";
      for (const button of group.querySelectorAll("button")) {
        button.setAttribute("aria-pressed", String(button === picked));
        button.disabled = true;
      }
    }

    // An offer is answered once anything follows it (a pick's answer, a new question).
    closeOffers() {
      for (const group of this.log.querySelectorAll(".choices:not([data-answered])")) this.answerOffer(group, null);
    }

    feedbackSaved(frame) {
      if (typeof frame.id !== "string") return;
      const group = this.log.querySelector(`.thumbs[data-answer-id="${CSS.escape(frame.id)}"]`);
      if (group) group.dataset.saved = frame.thumbs === "down" ? "down" : "up";
      this.setStatus("Thank you for your feedback.");
    }

    // "Talk to a person", always in the header where the organisation's people can be asked for
    // (ready.people) and nobody has the conversation yet.
    personButtonNode() {
      this.personButton = el("button", { class: "person", type: "button", hidden: "" }, "Talk to a person");
      this.personButton.addEventListener("click", () => {
        this.send({ type: "handoff" });
        this.personButton.hidden = true;
      });
      return this.personButton;
    }

    canAskForPerson() {
      return this.people && !this.withPeople;
    }

    showPersonButton() {
      this.personButton.hidden = !this.canAskForPerson();
      if (this.canAskForPerson()) this.handoffButton.hidden = true;
    }

    handedOff(state) {
      this.withPeople = state === "queued" || state === "agent_joined";
      this.showPersonButton();
    }

    // An agent's replies show who wrote them: above the first of a run by the same person,
    // their display name and an avatar of their initials on a colour of a fixed palette (never
    // an image from elsewhere).
    signAgentMessage(name) {
      const shown = typeof name === "string" && name.trim() ? name.trim() : "Support";
      const previous = this.log.lastElementChild;
      if (previous && previous.classList.contains("agent") && previous.dataset.name === shown) return;
      const who = el("li", { class: "who" });
      const avatar = el("span", { class: "avatar", "aria-hidden": "true" }, this.initials(shown));
      avatar.classList.add(`c${this.avatarColour(shown)}`);
      who.append(avatar, el("span", { class: "name" }, shown));
      this.log.append(who);
      this.agentName = shown;
    }

    initials(name) {
      const words = name.split(/\s+/).filter(Boolean);
      const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
      return letters.map((word) => Array.from(word)[0] || "").join("").toUpperCase();
    }

    // One of the stylesheet's six avatar colours (.avatar.c0 … .c5), the same for a name.
    avatarColour(name) {
      let hash = 0;
      for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
      return hash % 6;
    }

    typing(frame) {
      if (frame.author === "user") return;
      const who = frame.author === "agent"
        ? (typeof frame.name === "string" && frame.name.trim() ? frame.name.trim() : "Support")
        : "Assistant";
      this.setStatus(frame.state ? `${who} is typing…` : "");
    }

    // Read receipts: what the customer has seen (the panel open, the tab visible) goes up as a
    // `read` frame; the people's `read` frame marks the user's latest message they saw "Seen".
    // Like acks, one `read` covers a burst (at most one each READ_DELAY_MS), so a long
    // catch-up never trips the frame rate. Whatever socket is open when it fires carries it (a
    // new one was sent everything up to lastSeq before this runs: its `ready` came first).
    markRead() {
      if (this.readTimer) return;
      this.readTimer = setTimeout(() => {
        this.readTimer = null;
        if (this.panel.hidden || document.visibilityState === "hidden") return;
        if (this.lastSeq <= this.readSent) return;
        if (this.send({ type: "read", seq: this.lastSeq })) this.readSent = this.lastSeq;
      }, READ_DELAY_MS);
    }

    ownMessage(node, seq) {
      if (typeof seq !== "number") return;
      node.dataset.seq = String(seq);
      this.seqNodes.set(seq, node);
    }

    seen(frame) {
      if (typeof frame.seq !== "number" || frame.by === "user") return;
      let latest = 0;
      for (const seq of this.seqNodes.keys()) if (seq <= frame.seq && seq > latest) latest = seq;
      if (!latest) return;
      if (!this.seenNode) this.seenNode = el("li", { class: "seen" }, "Seen");
      this.seqNodes.get(latest).after(this.seenNode);
    }

    async reauth() {
      if (this.visitor) return; // a visitor reconnects with its return token instead
      try {
        this.send({ type: "reauth", token: await this.getToken() });
      } catch {
        // The server closes the socket at expiry; reconnecting then fetches a fresh token.
      }
    }

    setStatus(text) {
      this.status.textContent = text;
    }

    // Nobody there, e-mail and ratings (docs/protocol.md, "Nobody available, e-mail and
    // ratings"). Text only, through el() and text nodes.

    showAway(frame) {
      this.awayCard?.remove();
      const card = el("li", { class: "card away", role: "note" });
      const when = typeof frame.next_open_at === "string" ? new Date(frame.next_open_at) : null;
      let text = frame.reason === "closed" ? "We're closed right now." : "Nobody is available right now.";
      if (typeof frame.reply_time === "string") text += ` We usually reply ${frame.reply_time}.`;
      if (when && !Number.isNaN(when.getTime())) {
        text += ` We're back ${when.toLocaleString(undefined, { weekday: "long", hour: "2-digit", minute: "2-digit" })}.`;
      }
      card.append(el("p", {}, text));
      if (frame.email_known) {
        card.append(this.transcriptButton());
      } else {
        card.append(this.contactForm());
      }
      this.awayCard = card;
      this.log.append(card);
      this.log.scrollTop = this.log.scrollHeight;
    }

    contactForm() {
      const form = el("form", { class: "contact" });
      const label = el("label", { for: "parlour-email" }, "Leave your e-mail and we'll send you our reply:");
      const input = el("input", { id: "parlour-email", type: "email", maxlength: "254",
        autocomplete: "email", required: "" });
      form.append(label, input, el("button", { type: "submit" }, "Send"));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const email = input.value.trim();
        if (email) this.send({ type: "contact", email });
      });
      return form;
    }

    transcriptButton() {
      const button = el("button", { type: "button", class: "link" }, "E-mail me this conversation");
      button.addEventListener("click", () => {
        if (this.send({ type: "transcript" })) button.disabled = true;
      });
      return button;
    }

    askRating() {
      this.ratingCard?.remove();
      const card = el("li", { class: "card rating" });
      card.append(el("p", {}, "How did we do?"));
      const stars = el("div", { class: "stars", role: "group", "aria-label": "Your rating" });
      let score = 0;
      for (let n = 1; n <= 5; n += 1) {
        const star = el("button", { type: "button", "aria-pressed": "false",
          "aria-label": `${n} of 5` }, "★".repeat(n));
        star.addEventListener("click", () => {
          score = n;
          for (const other of stars.children) other.setAttribute("aria-pressed", String(other === star));
        });
        stars.append(star);
      }
      const comment = el("textarea", { rows: "2", maxlength: "1000", "aria-label": "A comment (optional)",
        placeholder: "A comment (optional)" });
      const submit = el("button", { type: "button" }, "Send rating");
      submit.addEventListener("click", () => {
        if (!score) return;
        const frame = { type: "rate", score };
        if (comment.value.trim()) frame.comment = comment.value.trim();
        this.send(frame);
      });
      card.append(stars, comment, submit);
      this.ratingCard = card;
      this.log.append(card);
      this.log.scrollTop = this.log.scrollHeight;
    }

    customerNoted(frame) {
      if (frame.type === "contact_saved") {
        this.setStatus("Thank you: we'll e-mail you our reply.");
        this.awayCard?.querySelector("form.contact")?.replaceWith(this.transcriptButton());
      } else if (frame.type === "transcript_queued") {
        this.setStatus("The conversation is on its way to your e-mail.");
      } else if (frame.type === "rated" && this.ratingCard) {
        this.ratingCard.replaceChildren(el("p", {}, "Thank you for your rating."));
      }
    }
  }

  window.Parlour = Object.freeze({
    version: "1",
    init(options) {
      return new Widget(options).mount();
    },
  });
})();
