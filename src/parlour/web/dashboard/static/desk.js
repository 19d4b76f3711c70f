// The live desk (docs/desk.md): the Inbox and a conversation's page update over the members'
// desk socket, /dashboard/o/{tenant_id}/live, without a reload. The pages work fully without
// this file; it only adds to them. Every text a customer or member wrote goes into the page as
// text (textContent), never as markup.
(function () {
  "use strict";

  var desk = document.getElementById("desk");
  if (!desk || !("WebSocket" in window)) return;

  var tenant = desk.dataset.tenant;
  var me = desk.dataset.me;
  var page = desk.dataset.page;
  var team = desk.dataset.team || "";  // the Inbox shows this team's conversations only
  var focused = desk.dataset.conversationId || null;
  var lastSeq = parseInt(desk.dataset.lastSeq || "0", 10);
  var notify = desk.dataset.notify === "on";
  var sound = desk.dataset.sound === "on";
  var live = document.getElementById("live");
  var baseTitle = document.title;
  var STATUSES = ["queued", "assigned", "pending", "snoozed", "resolved"];
  var STATUS_TEXT = {
    queued: "Waiting for a person.",
    pending: "Waiting on the customer.",
    resolved: "Resolved.",
    bot: "With the assistant."
  };
  var AUTHORS = { user: "Customer", assistant: "Assistant", agent: "Agent", system: "Parlour" };
  var HANDOFFS = {
    queued: "Waiting for a person.",
    agent_joined: "A person joined.",
    returned_to_bot: "Handed back to the assistant.",
    resolved: "Resolved."
  };
  // Unread messages from customers in conversations other than the one shown, since load.
  var unreadElsewhere = {};
  var socket = null;
  var retry = 1000;
  var opened = false;
  // After a close for the session (4401) or membership (4403), one reconnection at once: a
  // step-up in another tab renews the session cookie. If that is refused too, stop.
  var authRetry = false;
  // Sockets refused before their first frame in a row (a session that ran out while the server
  // was away is refused at the handshake, with no close code to say so): past a few, stop,
  // rather than knock every 30 seconds for as long as the tab stays open.
  var unanswered = 0;
  var MAX_UNANSWERED = 5;

  function say(text) {
    if (!live) return;
    live.textContent = text;
    live.hidden = !text;
  }

  // ---- The tab's title: how many customers' messages are unread.

  function unreadTotal() {
    var total = 0;
    if (page === "inbox") {
      document.querySelectorAll("tr[data-conversation-id]").forEach(function (row) {
        total += Math.max(0, num(row.dataset.lastSeq) - num(row.dataset.readSeq));
      });
    } else {
      Object.keys(unreadElsewhere).forEach(function (id) { total += unreadElsewhere[id]; });
    }
    return total;
  }

  function num(value) { return parseInt(value || "0", 10) || 0; }

  function retitle() {
    var total = unreadTotal();
    document.title = total > 0 ? "(" + total + ") " + baseTitle : baseTitle;
  }

  // ---- Notifications and sound, as the member chose on their account page.

  var audio = null;
  function beep() {
    if (!sound) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.08, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
      oscillator.connect(gain);
      gain.connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + 0.25);
    } catch (e) { /* no sound here */ }
  }

  function tell(text) {
    beep();
    if (notify && "Notification" in window && Notification.permission === "granted" &&
        document.hidden) {
      new Notification("Parlour", { body: text, tag: "parlour-desk" });
    }
  }

  if (notify && "Notification" in window && Notification.permission === "default" && live) {
    var ask = document.createElement("button");
    ask.type = "button";
    ask.className = "link";
    ask.textContent = "Allow browser notifications";
    ask.addEventListener("click", function () {
      Notification.requestPermission().then(function () { ask.remove(); });
    });
    live.parentNode.insertBefore(ask, live.nextSibling);
  }

  // ---- The Inbox: rows appear, move between lists and count what is unread.

  function table(status) { return document.getElementById(status); }

  function refreshEmpty() {
    STATUSES.forEach(function (status) {
      var list = table(status);
      var none = document.getElementById("no-" + status);
      if (!list || !none) return;
      var empty = list.tBodies[0].rows.length === 0;
      list.hidden = empty;
      none.hidden = !empty;
    });
  }

  function assignedText(assignee) {
    if (!assignee) return "";
    return assignee === me ? "You" : "A colleague";
  }

  // A row's cells by the column they are in (the team column shows only where there are teams).
  function cell(row, column) { return row.querySelector("td." + column) || document.createElement("td"); }

  function unreadCell(row) {
    var count = Math.max(0, num(row.dataset.lastSeq) - num(row.dataset.readSeq));
    cell(row, "unread").textContent = count > 0 ? count + " new" : "";
  }

  function newRow(frame, list) {
    var row = document.createElement("tr");
    row.dataset.conversationId = frame.conversation_id;
    row.dataset.lastSeq = String(frame.last_seq);
    // Arrived while the page was open: what happened before it is not news.
    row.dataset.readSeq = String(frame.last_seq);
    list.querySelectorAll("thead th[data-column]").forEach(function (heading) {
      var td = document.createElement("td");
      td.className = heading.dataset.column;
      row.appendChild(td);
    });
    cell(row, "customer").textContent = frame.end_user_id;
    var link = document.createElement("a");
    link.href = "/dashboard/o/" + encodeURIComponent(tenant) + "/inbox/" +
      encodeURIComponent(frame.conversation_id);
    link.textContent = "Open the conversation with " + frame.end_user_id;
    cell(row, "open").appendChild(link);
    return row;
  }

  function findRow(conversationId) {
    var rows = document.querySelectorAll("tr[data-conversation-id]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].dataset.conversationId === conversationId) return rows[i];
    }
    return null;
  }

  // A team's name, from the Inbox's own team filter (the page lists the organisation's teams).
  function teamName(teamId) {
    var option = teamId && document.querySelector('#team option[value="' + CSS.escape(teamId) + '"]');
    return option ? option.textContent : "";
  }

  function onConversation(frame) {
    var row = findRow(frame.conversation_id);
    var target = table(frame.status);
    if (team && frame.team_id !== team) target = null;  // another team's: not on this Inbox
    if (!target) {  // with the assistant, or another team's: not shown here
      if (row) row.remove();
      refreshEmpty();
      retitle();
      return;
    }
    var arrived = !row;
    row = row || newRow(frame, target);
    row.dataset.assignee = frame.assignee || "";
    cell(row, "assignee").textContent = assignedText(frame.assignee);
    cell(row, "team").textContent = teamName(frame.team_id);
    cell(row, "latest").textContent = new Date().toISOString().slice(0, 19).replace("T", " ") + " UTC";
    if (row.parentNode !== target.tBodies[0]) target.tBodies[0].insertBefore(row, target.tBodies[0].firstChild);
    unreadCell(row);
    refreshEmpty();
    retitle();
    if (arrived && frame.status === "queued") tell("A customer is waiting for a person.");
  }

  function onStored(frame) {
    var row = findRow(frame.conversation_id);
    if (row) {
      row.dataset.lastSeq = String(Math.max(num(row.dataset.lastSeq), frame.seq));
      if (frame.author !== "user") {
        // Only customers' messages count as unread: what people and the assistant said is read.
        row.dataset.readSeq = String(Math.max(num(row.dataset.readSeq), frame.seq));
      }
      unreadCell(row);
      cell(row, "latest").textContent = new Date().toISOString().slice(0, 19).replace("T", " ") + " UTC";
    }
    if (frame.author === "user") {
      if (page !== "inbox" && frame.conversation_id !== focused) {
        unreadElsewhere[frame.conversation_id] = (unreadElsewhere[frame.conversation_id] || 0) + 1;
      }
      if (row || page !== "inbox") tell("A customer wrote.");
    }
    retitle();
  }

  function onRead(frame) {
    if (frame.account_id !== me) return;
    var row = findRow(frame.conversation_id);
    if (row) {
      row.dataset.readSeq = String(Math.max(num(row.dataset.readSeq), frame.seq));
      unreadCell(row);
    }
    delete unreadElsewhere[frame.conversation_id];
    retitle();
  }

  // ---- A conversation's page: its messages, status, steps and typing.

  var messages = document.getElementById("messages");
  var typingLine = document.getElementById("typing");
  var typingTimer = null;

  function time(iso) {
    var el = document.createElement("time");
    el.dateTime = iso;
    var at = new Date(iso);
    el.textContent = isNaN(at) ? "" : at.toISOString().slice(11, 16);
    return el;
  }

  function onMessage(frame) {
    if (!messages || frame.conversation_id !== focused || frame.seq <= lastSeq) return;
    var item = document.createElement("li");
    item.dataset.seq = String(frame.seq);
    if (frame.type === "handoff") {
      item.className = "note";
      item.textContent = (HANDOFFS[frame.state] || frame.state) + " ";
      item.appendChild(time(frame.created_at));
    } else {
      item.className = frame.author;
      var who = document.createElement("strong");
      who.textContent = AUTHORS[frame.author] || frame.author;
      item.appendChild(who);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(time(frame.created_at));
      var text = document.createElement("p");
      text.textContent = frame.text;
      item.appendChild(text);
      if (frame.attachments && frame.attachments.length) item.appendChild(attachments(frame.attachments));
      if (frame.author === "user") showTyping(null);
    }
    messages.appendChild(item);
    lastSeq = frame.seq;
    markRead();
  }

  // A message's files: a server-made thumbnail for images, and a link that downloads the
  // original (never shown inline). Links are signed and only ever Parlour's own.
  function attachments(files) {
    var list = document.createElement("ul");
    list.className = "attachments";
    files.forEach(function (file) {
      var url = String(file.url || "");
      if (url.indexOf(location.origin + "/v1/attachments/") !== 0) return;
      var entry = document.createElement("li");
      var thumb = String(file.thumbnail_url || "");
      if (thumb.indexOf(location.origin + "/v1/attachments/") === 0) {
        var image = document.createElement("img");
        image.src = thumb;
        image.alt = "";
        image.loading = "lazy";
        entry.appendChild(image);
      }
      var link = document.createElement("a");
      link.href = url;
      link.setAttribute("download", "");
      link.textContent = file.name;
      entry.appendChild(link);
      var about = document.createElement("span");
      about.className = "help";
      about.textContent = " " + file.content_type + ", " + Math.max(1, Math.round(file.size / 1024)) + " KB";
      entry.appendChild(about);
      list.appendChild(entry);
    });
    return list;
  }

  function markRead() {
    if (page !== "conversation" || document.hidden || !lastSeq) return;
    send({ type: "read", conversation_id: focused, seq: lastSeq });
  }

  function statusText(frame) {
    if (frame.status === "assigned") {
      return frame.assignee === me ? "Assigned to you." : "Assigned to a colleague.";
    }
    if (frame.status === "snoozed") {
      return "Snoozed until " + (frame.snoozed_until || "").slice(0, 16).replace("T", " ") + " UTC.";
    }
    return STATUS_TEXT[frame.status] || frame.status;
  }

  function steps(frame) {
    var list = [];
    if (frame.status !== "resolved" && !frame.assignee) list.push(["take", "Assign to me"]);
    if (frame.assignee && frame.status !== "resolved") list.push(["unassign", "Unassign"]);
    list.push(frame.status === "resolved" ? ["reopen", "Reopen"] : ["resolve", "Resolve"]);
    if (frame.status !== "bot" && frame.status !== "resolved") {
      list.push(["return", "Hand back to the assistant"]);
    }
    return list;
  }

  function onFocusedConversation(frame) {
    var status = document.getElementById("status");
    if (status) status.textContent = statusText(frame);
    var holder = document.getElementById("steps");
    var token = document.querySelector("#reply input[name=csrf_token]");
    if (!holder || !token) return;
    while (holder.firstChild) holder.removeChild(holder.firstChild);
    steps(frame).forEach(function (step) {
      var form = document.createElement("form");
      form.method = "post";
      form.action = "/dashboard/o/" + encodeURIComponent(tenant) + "/inbox/" +
        encodeURIComponent(focused) + "/" + step[0];
      form.className = "inline";
      var csrf = document.createElement("input");
      csrf.type = "hidden";
      csrf.name = "csrf_token";
      csrf.value = token.value;
      var button = document.createElement("button");
      button.type = "submit";
      button.textContent = step[1];
      form.appendChild(csrf);
      form.appendChild(button);
      holder.appendChild(form);
    });
  }

  function showTyping(frame) {
    if (!typingLine) return;
    if (typingTimer) clearTimeout(typingTimer);
    if (!frame || !frame.state) {
      typingLine.hidden = true;
      typingLine.textContent = "";
      return;
    }
    typingLine.textContent = frame.author === "user" ? "The customer is typing…" :
      frame.author === "assistant" ? "The assistant is writing…" : "A colleague is typing…";
    typingLine.hidden = false;
    // A typing state that is never ended (a closed tab) fades by itself.
    typingTimer = setTimeout(function () { showTyping(null); }, 8000);
  }

  function onTyping(frame) {
    if (frame.conversation_id === focused) showTyping(frame);
    var row = findRow(frame.conversation_id);
    if (row && frame.author === "user") {
      cell(row, "unread").textContent = frame.state ? "typing…" : "";
      if (!frame.state) unreadCell(row);
    }
  }

  // The member's own typing, told to the customer and colleagues; at most every 3 seconds.
  var reply = document.querySelector("#reply textarea");
  var typingSince = 0;
  var stopTyping = null;
  if (reply && focused) {
    reply.addEventListener("input", function () {
      var now = Date.now();
      if (now - typingSince > 3000) {
        typingSince = now;
        send({ type: "typing", conversation_id: focused, state: true });
      }
      if (stopTyping) clearTimeout(stopTyping);
      stopTyping = setTimeout(function () {
        typingSince = 0;
        send({ type: "typing", conversation_id: focused, state: false });
      }, 4000);
    });
  }
  document.addEventListener("visibilitychange", markRead);

  // ---- A private note, shown live on the page of its conversation: the socket sends its text
  // for the conversation this page shows only (the desk channel reaches members alone, T-99).

  function onNote(frame) {
    if (!messages || frame.conversation_id !== focused || typeof frame.text !== "string") return;
    if (document.getElementById("note-" + frame.note_id)) return;
    var item = document.createElement("li");
    item.className = "private-note";
    item.id = "note-" + frame.note_id;
    var label = document.createElement("strong");
    label.textContent = "Private note";
    item.appendChild(label);
    item.appendChild(document.createTextNode(
      " by " + (frame.author_id === me ? "you" : "a colleague") + " "));
    item.appendChild(time(frame.created_at));
    var text = document.createElement("p");
    text.textContent = frame.text;
    item.appendChild(text);
    messages.appendChild(item);
  }

  // ---- A conversation's forms, sent in place: the reply, the note, the team and the steps post
  // to the same routes with the form's own fields (its CSRF token too; the browser adds the
  // Origin), same-origin. The page then takes its status, steps and notes from the page the
  // server answers with, and the messages from the socket; an error is shown above the reply.
  // Anywhere else the server sends the member (the Inbox after handing back, the sign-in page),
  // the browser goes, as the form would have. Without this script the forms post as before.

  var conversationPath = focused ? "/dashboard/o/" + encodeURIComponent(tenant) + "/inbox/" +
    encodeURIComponent(focused) : null;

  function inPlace(form) {
    if (!conversationPath || (form.method || "").toLowerCase() !== "post") return false;
    if (new URL(form.action, location.href).origin !== location.origin) return false;
    if (form.id === "reply" || form.id === "note-form" || form.id === "team-form") return true;
    return !!form.parentNode && form.parentNode.id === "steps";
  }

  function showError(text) {
    var error = document.getElementById("error");
    if (!text) {
      if (error) error.remove();
      return;
    }
    var replyForm = document.getElementById("reply");
    if (!error) {
      if (!replyForm) return;
      error = document.createElement("p");
      error.className = "error";
      error.id = "error";
      error.setAttribute("role", "alert");
      replyForm.parentNode.insertBefore(error, replyForm);
    }
    error.textContent = text;
  }

  // What the server's page shows that the socket does not: the status and steps as of the step
  // just taken, and the notes (the member's own among them). Nodes of a parsed, inert document,
  // rendered by the server (every text escaped there).
  function adopt(doc) {
    var status = doc.getElementById("status");
    var mine = document.getElementById("status");
    if (status && mine) mine.textContent = status.textContent;
    var steps = doc.getElementById("steps");
    var holder = document.getElementById("steps");
    if (steps && holder) {
      while (holder.firstChild) holder.removeChild(holder.firstChild);
      Array.prototype.forEach.call(steps.childNodes, function (node) {
        holder.appendChild(document.importNode(node, true));
      });
    }
    if (!messages) return;
    doc.querySelectorAll("#messages li.private-note").forEach(function (note) {
      if (note.id && !document.getElementById(note.id)) {
        messages.appendChild(document.importNode(note, true));
      }
    });
  }

  function parsePage(html) { return new DOMParser().parseFromString(html, "text/html"); }

  function sendInPlace(form) {
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (button) { button.disabled = true; });
    var action = new URL(form.action, location.href);
    fetch(action.href, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      redirect: "follow"
    }).then(function (response) {
      var landed = new URL(response.url, location.href);
      return response.text().then(function (html) {
        if (response.ok && landed.pathname === conversationPath) {
          showError("");
          var box = form.querySelector("textarea");
          if (box && form.id !== "team-form") box.value = "";
          adopt(parsePage(html));
          return;
        }
        if (!response.ok && landed.pathname === action.pathname) {
          var doc = parsePage(html);
          var error = doc.getElementById("error");
          if (error) {
            showError(error.textContent);
            adopt(doc);
            return;
          }
        }
        window.location.assign(response.url);
      });
    }).catch(function () {
      showError("Not sent: the connection failed. Try again.");
    }).then(function () {
      buttons.forEach(function (button) { button.disabled = false; });
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !inPlace(form) || !window.fetch) return;
    event.preventDefault();
    sendInPlace(form);
  });

  // ---- The socket.

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "ready":
        retry = 1000;
        authRetry = false;
        say("");
        if (opened && page === "inbox") { window.location.reload(); return; }
        opened = true;
        desk.dataset.live = "on";  // the page hears the desk from now on
        markRead();
        break;
      case "conversation":
        onConversation(frame);
        if (frame.conversation_id === focused) onFocusedConversation(frame);
        break;
      case "stored": onStored(frame); break;
      case "message": case "handoff": onMessage(frame); break;
      case "typing": onTyping(frame); break;
      case "read": onRead(frame); break;
      case "note": onNote(frame); break;
      default: break;  // presence: shown by later versions of this page
    }
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/dashboard/o/" +
      encodeURIComponent(tenant) + "/live");
    socket.addEventListener("open", function () {
      var hello = { type: "hello" };
      if (focused) { hello.conversation_id = focused; hello.after_seq = lastSeq; }
      socket.send(JSON.stringify(hello));
    });
    socket.addEventListener("message", function (event) {
      try { onFrame(JSON.parse(event.data)); } catch (e) { /* a frame this page does not know */ }
    });
    var ready = false;
    socket.addEventListener("message", function () { ready = true; });
    socket.addEventListener("close", function (event) {
      var refused = event.code === 4401 || event.code === 4403;
      if (refused && !authRetry) {
        authRetry = true;
        connect();
        return;
      }
      unanswered = ready ? 0 : unanswered + 1;
      if (refused || (authRetry && !ready) || unanswered >= MAX_UNANSWERED) {
        say("Live updates stopped: " + (event.reason || "sign in again.") + " Reload the page.");
        return;
      }
      say("Live updates paused; reconnecting…");
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  retitle();
  connect();
})();
