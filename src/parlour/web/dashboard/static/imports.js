/* The knowledge page's upload: the button is pressed once (a second press while the form is
   sent does nothing; the server also makes one job of a form sent twice), and the import the
   page follows (#import) is kept up to date without a reload: its state and progress are read
   from the page's own JSON of the job (same origin, the session's cookie) every second until it
   has ended, then its outcome is shown. Nothing is written as HTML (textContent only). Without
   this script, the page shows the job's state as of each reload. */
(function () {
  "use strict";
  var POLL_MS = 1000;
  var GIVE_UP_AFTER = 60 * 60; // polls (an hour): then a reload shows where it is

  var form = document.getElementById("upload-form");
  if (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        // After this submit is on its way: disabling it first would leave it out of the form.
        window.setTimeout(function () { button.disabled = true; }, 0);
        button.setAttribute("aria-busy", "true");
        button.textContent = "Uploading…";
      }
    });
  }

  var panel = document.getElementById("import");
  if (!panel) return;
  var url = panel.getAttribute("data-job-url");
  var stateLine = document.getElementById("import-state");
  var bar = document.getElementById("import-progress");
  var polls = 0;

  function ended(state) { return state === "done" || state === "failed"; }

  function counted(n, noun) { return n + " " + noun + (n === 1 ? "" : "s"); }

  function paragraph(id, className, text) {
    var old = document.getElementById(id);
    if (old) old.parentNode.removeChild(old);
    var p = document.createElement("p");
    p.id = id;
    p.className = className;
    p.textContent = text;
    panel.appendChild(p);
    return p;
  }

  function rowErrors(errors) {
    var old = document.getElementById("import-errors");
    if (old) old.parentNode.removeChild(old);
    if (!errors || !errors.length) return;
    var list = document.createElement("ul");
    list.id = "import-errors";
    list.className = "errors";
    errors.forEach(function (e) {
      var item = document.createElement("li");
      item.textContent = "line " + e.line + ": " + e.message;
      list.appendChild(item);
    });
    panel.appendChild(list);
  }

  function show(job) {
    panel.setAttribute("data-state", job.state);
    var done = job.progress.done, total = job.progress.total;
    if (job.state === "queued") {
      stateLine.textContent = "Waiting to start.";
    } else if (job.state === "running") {
      stateLine.textContent = total
        ? done + " of " + counted(total, "passage") + " screened and embedded" +
          (done === total ? "; storing the new version." : ".")
        : "Reading the file.";
    } else if (job.state === "done") {
      stateLine.textContent = "Done.";
      var o = job.outcome;
      var text = "Version " + o.version + ": " + counted(o.imported, "passage") + " from " +
        job.source + (o.published ? ", live now." : ".");
      if (o.quarantined) text += " " + counted(o.quarantined, "passage") + " held back for review.";
      paragraph("upload-result", "notice", text);
      rowErrors(o.errors);
      // The versions below are as the page was loaded: a link to the page as it is now.
      var again = paragraph("import-reload", "", "");
      var link = document.createElement("a");
      link.href = window.location.pathname + "?import=" + encodeURIComponent(job.id);
      link.textContent = "Show version " + o.version + " among the versions";
      again.appendChild(link);
    } else {
      stateLine.textContent = "Failed: nothing was changed.";
      paragraph("upload-failed", "error", job.error.message);
      rowErrors(job.error.errors);
    }
    if (bar) {
      bar.max = total || 1;
      bar.value = total ? done : 0;
      bar.textContent = done + " of " + total;
      bar.hidden = ended(job.state);
    }
  }

  function poll() {
    polls += 1;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        if (!answer.ok || answer.redirected) throw new Error("not followed");
        return answer.json();
      })
      .then(function (job) {
        show(job);
        if (!ended(job.state) && polls < GIVE_UP_AFTER) window.setTimeout(poll, POLL_MS);
      })
      .catch(function () {
        stateLine.textContent = "Reload the page to see how the import is going.";
      });
  }

  if (!ended(panel.getAttribute("data-state"))) window.setTimeout(poll, POLL_MS);
})();
