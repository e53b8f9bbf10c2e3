/* The lead facilitator's console: session and phase controls, broadcast, polls, all tables. */
(function () {
  "use strict";
  var R = window.Roundtable;
  var live;
  var pollView;
  var refreshTimer = null;

  function renderConsole(data) {
    var body = document.getElementById("rt-tables");
    body.textContent = "";
    data.tables.forEach(function (t) {
      var row = R.el("tr", t.help ? { class: "rt-flagged" } : {});
      row.appendChild(R.el("th", { scope: "row" }, t.number));
      row.appendChild(R.el("td", {}, t.seated + " / " + (t.connected || 0)));
      row.appendChild(R.el("td", {}, t.no_facilitator ? "⚠ " + live.labels.no_facilitator : t.facilitators.join(", ")));
      row.appendChild(R.el("td", {}, t.messages_last_minute));
      row.appendChild(R.el("td", {}, t.ideas_submitted));
      var cell = R.el("td", {});
      if (t.help) {
        var button = R.el("button", { type: "button", class: "button-small" }, live.labels.clear + " (" + live.labels.table + " " + t.number + ")");
        button.addEventListener("click", function () { live.send("help_clear", { table_id: t.id }, refresh); });
        cell.appendChild(button);
      }
      row.appendChild(cell);
      body.appendChild(row);
    });
    var help = document.getElementById("rt-help-list");
    help.textContent = "";
    data.tables.filter(function (t) { return t.help; }).forEach(function (t) {
      help.appendChild(R.el("li", {}, R.fmt(live.labels.help_table, { n: t.number })));
    });
    var reg = data.registered || {};
    document.getElementById("rt-room-summary").textContent =
      live.labels.seated + ": " + (reg.participant || 0) + " · " + live.labels.facilitator + ": " + (reg.table_facilitator || 0);
  }

  function refresh() {
    live.send("console", {}, function (ack) { if (ack.ok) renderConsole(ack.console); });
  }
  function refreshSoon() {
    if (refreshTimer) return;
    refreshTimer = window.setTimeout(function () { refreshTimer = null; refresh(); }, 1000);
  }

  live = new R.Live({
    onSnapshot: function (snap) {
      if (snap.console) renderConsole(snap.console);
      var poll = snap.poll;
      pollView.show(poll, poll ? poll.tally : null, null);
    },
    on: {
      help_flag: refreshSoon,
      chat_message: refreshSoon,
      ideas_submitted: refreshSoon,
      seating: refreshSoon,
      table_merged: refreshSoon,
      people_changed: refreshSoon,
      poll_opened: function (poll) { pollView.show(poll, null, null); },
      poll_closed: function (data) {
        if (pollView.poll) pollView.show(Object.assign({}, pollView.poll, { state: "closed" }), data.tally, null);
      },
      poll_tally: function (tally) { pollView.updateTally(tally); }
    }
  });
  pollView = new R.PollView(document.getElementById("rt-poll"), live, null);
  window.setInterval(refresh, 15000);

  document.querySelectorAll("[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      live.send(button.dataset.action, {}, function (ack) {
        // Seating answers how many tables have no facilitator (the people page fixes that).
        if (ack.ok && button.dataset.action === "seat_room") document.getElementById("rt-seating-status").textContent = ack.message;
        refresh();
      });
    });
  });
  document.querySelectorAll("[data-timer]").forEach(function (button) {
    button.addEventListener("click", function () {
      var data = { action: button.dataset.timer };
      if (data.action === "extend") data.seconds = 60;
      live.send("timer", data);
    });
  });
  document.getElementById("rt-phase-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var minutes = Number(document.getElementById("rt-phase-minutes").value || 0);
    var data = { phase: document.getElementById("rt-phase-select").value };
    if (minutes > 0) data.duration_s = Math.round(minutes * 60);
    live.send("phase_set", data);
  });
  document.getElementById("rt-broadcast-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("rt-broadcast-text");
    live.send("broadcast", { text: input.value }, function (ack) { if (ack.ok) input.value = ""; });
  });
  document.getElementById("rt-poll-form-open").addEventListener("submit", function (event) {
    event.preventDefault();
    var minutes = Number(document.getElementById("rt-poll-minutes").value || 0);
    var data = {
      kind: document.getElementById("rt-poll-kind").value,
      question: document.getElementById("rt-poll-question").value,
      options: document.getElementById("rt-poll-options").value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean)
    };
    if (minutes > 0) data.duration_s = Math.round(minutes * 60);
    live.send("poll_open", data);
  });
  document.getElementById("rt-poll-close").addEventListener("click", function () {
    if (pollView.poll) live.send("poll_close", { poll_id: pollView.poll.id });
  });
})();
