/* Canned replies in a conversation's reply box: type "/" and letters, pick one of the
   organisation's replies whose shortcut matches (arrows and Enter or Tab, or a click), and its
   text takes the place of what was typed. The replies come from the page itself (#canned);
   nothing is fetched and nothing is written as HTML (textContent only). Without this script,
   the server sends a reply that is exactly "/shortcut" as that reply. */
(function () {
  "use strict";
  var box = document.getElementById("text");
  var list = document.getElementById("canned-suggestions");
  var holder = document.getElementById("canned");
  if (!box || !list || !holder) return;
  var replies = Array.prototype.map.call(
    holder.querySelectorAll(".canned-list [data-shortcut]"),
    function (item) {
      return { shortcut: item.getAttribute("data-shortcut"), body: item.getAttribute("data-body") };
    }
  );
  var SHOWN = 8;
  var typed = null; // {start, end, letters} of the "/letters" before the caret
  var matches = [];
  var active = 0;

  box.setAttribute("aria-autocomplete", "list");
  box.setAttribute("aria-controls", list.id);
  // No aria-expanded: a textarea is a textbox, which has no such state (only a combobox, which
  // a textarea may not be); the active option is announced through aria-activedescendant.

  function slashBeforeCaret() {
    var end = box.selectionStart;
    if (end !== box.selectionEnd) return null;
    var found = /(^|\s)\/([a-z0-9-]*)$/.exec(box.value.slice(0, end));
    if (!found) return null;
    return { start: end - found[2].length - 1, end: end, letters: found[2] };
  }

  function hide() {
    list.hidden = true;
    box.removeAttribute("aria-activedescendant");
    matches = [];
  }

  function show() {
    list.textContent = "";
    matches.forEach(function (reply, index) {
      var option = document.createElement("li");
      option.id = "canned-option-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", index === active ? "true" : "false");
      var name = document.createElement("code");
      name.textContent = "/" + reply.shortcut;
      option.appendChild(name);
      option.appendChild(document.createTextNode(
        reply.body.length > 80 ? reply.body.slice(0, 79) + "…" : reply.body
      ));
      option.addEventListener("mousedown", function (event) {
        event.preventDefault(); // keep the focus (and the caret) in the reply box
        insert(reply);
      });
      list.appendChild(option);
    });
    list.hidden = false;
    box.setAttribute("aria-activedescendant", "canned-option-" + active);
  }

  function offer() {
    typed = slashBeforeCaret();
    if (!typed) return hide();
    var letters = typed.letters;
    var starting = replies.filter(function (r) { return r.shortcut.indexOf(letters) === 0; });
    var containing = replies.filter(function (r) {
      return r.shortcut.indexOf(letters) > 0;
    });
    matches = starting.concat(containing).slice(0, SHOWN);
    active = 0;
    if (!matches.length) return hide();
    show();
  }

  function insert(reply) {
    if (!typed) return;
    var before = box.value.slice(0, typed.start);
    var after = box.value.slice(typed.end);
    box.value = before + reply.body + after;
    var caret = before.length + reply.body.length;
    box.setSelectionRange(caret, caret);
    box.focus();
    hide();
  }

  box.addEventListener("input", offer);
  box.addEventListener("click", offer);
  box.addEventListener("blur", hide);
  box.addEventListener("keydown", function (event) {
    if (list.hidden || !matches.length) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var step = event.key === "ArrowDown" ? 1 : matches.length - 1;
      active = (active + step) % matches.length;
      show();
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      insert(matches[active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      hide();
    }
  });
})();
