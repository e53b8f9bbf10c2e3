/* The lead facilitator's console: session and phase controls that follow the session's state,
   confirmations for what cannot be undone, broadcasts with their history, the poll panel
   (countdown, turnout, pass or fail against the session's rule) and every table at a glance.

   Built for 100 tables: the table list is keyed by table id and updated in place (a row's
   cells change only when their text does; rows move only when the order changes); events only
   mark the list stale, and a refresh goes out at most every REFRESH_GAP_MS, plus one every
   PERIODIC_MS so "messages in the last minute", "last chat or idea" and the connected counts
   stay current within two seconds however quiet or busy the room is. */
(function () {
  "use strict";
  var R = window.Roundtable;
  var REFRESH_GAP_MS = 500;
  var PERIODIC_MS = 2000;
  var live;
  var labels;
  var pollView;
  var state = {};                 // the session's state payload (phase, timer, results_url)
  var data = null;                // the last console overview
  var poll = null;                // the open or latest poll
  var tally = null;               // its tally (with threshold, rule, passes, final)
  var rows = {};                  // table id -> {tr, cells, help, chat}
  var order = null;               // table ids as shown (null: rebuild the list)
  var lastRefresh = 0;
  var refreshTimer = null;
  var inFlight = false;
  var chatTable = null;           // the table whose chat the lead has open

  function $(id) { return document.getElementById(id); }
  function setText(node, text) { if (node.textContent !== String(text)) node.textContent = String(text); }
  function serverNow() { return Date.now() + (live ? live.countdown.offset : 0); }

  /* --- what each action says when it worked -------------------------------------------- */
  function announce(text) {
    var node = $("rt-action-status");
    // Emptied first, so the same words twice are read out twice.
    node.textContent = "";
    window.setTimeout(function () { node.textContent = text; }, 50);
  }
  function afterAction(event, extra) {
    return function (ack) {
      if (!ack.ok) return;
      var text = labels.done_action[event] || labels.done;
      if (event === "seat_room") {
        text = R.fmt(text, { people: ack.people, tables: ack.tables });
        if (ack.without_facilitator && ack.without_facilitator.length) {
          text += " " + R.fmt(labels.seat_missing, { tables: ack.without_facilitator.join(", ") });
        }
      }
      if (event === "phase_set" && ack.state) text = R.fmt(text, { phase: labels.phases[ack.state.phase] || "" });
      announce(text);
      if (ack.state) applyState(ack.state);
      if (extra) extra(ack);
      refreshSoon();
    };
  }

  /* --- confirmation dialog: keyboard and screen reader friendly ------------------------ */
  function confirmThen(kind, trigger, run) {
    var dialog = $("rt-confirm");
    var words = labels.confirm[kind];
    if (!words || typeof dialog.showModal !== "function") { run(); return; }
    $("rt-confirm-title").textContent = words[0];
    $("rt-confirm-text").textContent = words[1];
    $("rt-confirm-ok").textContent = words[2];
    dialog.returnValue = "";
    dialog.onclose = function () {
      dialog.onclose = null;
      if (trigger && document.contains(trigger)) trigger.focus();
      if (dialog.returnValue === "ok") run();
    };
    dialog.showModal();
    $("rt-confirm-cancel").focus();  // the safe choice has the focus
  }

  /* --- controls follow the session's state --------------------------------------------- */
  function applyState(s) {
    state = Object.assign({}, state, s);
    updateControls();
    if (state.state === "closed") showClosed(null);
  }

  function updateControls() {
    var st = state.state, running = st === "running";
    var timer = !!state.ends_at || !!state.paused;
    var allowed = {
      lobby_open: st === "scheduled",
      seat_room: st === "lobby" || running,
      session_start: st === "lobby",
      session_close: st === "lobby" || running
    };
    document.querySelectorAll("[data-action]").forEach(function (b) { b.disabled = !allowed[b.dataset.action]; });
    var timerAllowed = {
      pause: running && !!state.ends_at && !state.paused,
      resume: running && !!state.paused,
      extend: running && timer,
      end: running && !!state.phase
    };
    document.querySelectorAll("[data-timer]").forEach(function (b) { b.disabled = !timerAllowed[b.dataset.timer]; });
    // The phase list offers only the moves the session can make now, the next one chosen.
    var select = $("rt-phase-select");
    var legal = running && state.phase ? (labels.transitions[state.phase] || []) : [];
    // The natural next step: the first legal phase after the current one, else the first.
    var firstLegal = null, nextLegal = null, past = false;
    Array.prototype.forEach.call(select.options, function (option) {
      option.disabled = legal.indexOf(option.value) < 0;
      if (!option.disabled && firstLegal === null) firstLegal = option.value;
      if (!option.disabled && past && nextLegal === null) nextLegal = option.value;
      if (option.value === state.phase) past = true;
    });
    firstLegal = nextLegal || firstLegal;
    if (select.dataset.phase !== String(state.phase)) {
      select.dataset.phase = String(state.phase);
      if (firstLegal) select.value = firstLegal;
    }
    select.disabled = !legal.length;
    $("rt-phase-submit").disabled = !legal.length;
    $("rt-broadcast-submit").disabled = !(st === "lobby" || running);
    var pollOpen = poll && poll.state === "open";
    $("rt-poll-open").disabled = !running || state.phase !== "poll" || !!pollOpen;
    $("rt-poll-close").disabled = !pollOpen;
  }

  /* --- the poll panel -------------------------------------------------------------------- */
  function mmss(s) { return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0"); }

  /* The session's pass rule in this page's words, from the data that tallies, the console's
     overview and the close summary carry (`rule`, `threshold_percent`). */
  function ruleSentence(from) {
    var words = R.fmt(labels.rule_words[from.rule] || "", { n: from.threshold_percent });
    return R.fmt(labels.rule, { rule: words });
  }

  function renderPollPanel() {
    var stateNode = $("rt-poll-state"), countdown = $("rt-poll-countdown");
    if (!poll) {
      setText(stateNode, labels.no_poll);
      setText(countdown, ""); setText($("rt-poll-turnout"), ""); setText($("rt-poll-rule"), "");
      $("rt-poll-results").textContent = "";
      return;
    }
    var open = poll.state === "open" && !(tally && tally.final);
    setText(stateNode, open ? labels.poll_open : labels.poll_final);
    renderPollCountdown();
    var seated = data && data.counts ? data.counts.seated : 0;
    var voted = tally ? tally.total : 0;
    var pct = seated ? Math.round((100 * voted) / seated) : 0;
    setText($("rt-poll-turnout"), R.fmt(labels.turnout, { voted: voted, seated: seated, pct: pct }));
    var ruleFrom = tally && tally.rule ? tally : data;
    setText($("rt-poll-rule"), ruleFrom && ruleFrom.rule ? ruleSentence(ruleFrom) : "");
    var list = $("rt-poll-results");
    var items = poll.options.map(function (option) {
      var key = String(option.id);
      var count = tally && tally.counts ? tally.counts[key] : 0;
      if (count && typeof count === "object") count = count.agree;
      count = count || 0;
      var share = voted ? (100 * count) / voted : 0;
      var passes = tally && tally.passes ? tally.passes[key] : false;
      var verdict = open ? (passes ? labels.passing_so_far : labels.failing_so_far) : (passes ? labels.passes : labels.fails);
      return { id: key, text: option.label + ": " + (Math.round(share * 10) / 10) + "% (" + count + ") · " + verdict, passes: passes };
    });
    // Rebuilt only when a line's words change: the region is polite, so each change is read once.
    var current = Array.prototype.map.call(list.children, function (li) { return li.textContent; }).join("\n");
    var next = items.map(function (i) { return i.text; }).join("\n");
    if (current !== next) {
      list.textContent = "";
      items.forEach(function (i) { list.appendChild(R.el("li", { class: i.passes ? "rt-passed" : "rt-failed", "data-option": i.id }, i.text)); });
    }
    var split = tally && tally.by_takes_part;
    if (split && hybridLabels) setText($("rt-poll-split"), R.fmt(hybridLabels.votes, split));
  }

  function renderPollCountdown() {
    var node = $("rt-poll-countdown");
    if (!poll || poll.state !== "open" || (tally && tally.final)) { setText(node, ""); return; }
    if (!poll.closes_at) { setText(node, labels.no_timer); return; }
    var s = Math.max(0, Math.round((Date.parse(poll.closes_at) - serverNow()) / 1000));
    setText(node, s > 0 ? R.fmt(labels.closes_in, { t: mmss(s) }) : labels.closing);
  }

  function showPoll(p, t) {
    poll = p;
    tally = t || null;
    renderPollPanel();
    updateControls();
  }

  /* --- the table list: keyed rows, updated in place -------------------------------------- */
  function silentMinutes(t) {
    if (!t.last_activity_at) return Infinity;
    return Math.floor((serverNow() - Date.parse(t.last_activity_at)) / 60000);
  }
  function lastActivityText(t) {
    var m = silentMinutes(t);
    if (m === Infinity) return labels.never;
    return m < 1 ? labels.just_now : R.fmt(labels.minutes_ago, { n: m });
  }
  /* Who at the table can be connected: everyone seated, its facilitator included, but the
     people entered on paper, who have no device (a hall table of them is missing no one). */
  function withDevice(t) { return t.seated - (t.on_paper || 0); }
  function disconnected(t) { return (t.connected || 0) < withDevice(t); }
  function needsAttention(t) { return t.help || t.no_facilitator || disconnected(t); }

  function shown(t) {
    var filter = $("rt-filter").value;
    var minutes = Number($("rt-silent-minutes").value || 5);
    switch (filter) {
      case "help": return t.help;
      case "no_facilitator": return t.no_facilitator;
      case "silent": return silentMinutes(t) >= minutes;
      case "no_ideas": return !t.ideas_submitted;
      case "ideas": return t.ideas_submitted > 0;
      case "disconnected": return disconnected(t);
      default: return true;
    }
  }

  /* Longest silent first; never-active tables (Infinity) first of all; ties are 0, never
     NaN, so the order is stable and rows do not jump under the pointer. */
  function bySilence(a, b) {
    var sa = silentMinutes(a), sb = silentMinutes(b);
    if (sa === sb) return 0;
    if (sa === Infinity) return -1;
    if (sb === Infinity) return 1;
    return sb - sa;
  }

  function sorted(tables) {
    var how = $("rt-sort").value;
    var copy = tables.slice();
    var byNumber = function (a, b) { return a.number - b.number; };
    var score = function (t) { return (t.help ? 4 : 0) + (t.no_facilitator ? 2 : 0) + (disconnected(t) ? 1 : 0); };
    copy.sort(function (a, b) {
      if (how === "attention") return score(b) - score(a) || bySilence(a, b) || byNumber(a, b);
      if (how === "silent") return bySilence(a, b) || byNumber(a, b);
      if (how === "messages") return b.messages_last_minute - a.messages_last_minute || byNumber(a, b);
      return byNumber(a, b);
    });
    return copy;
  }

  function makeRow(t) {
    var tr = R.el("tr", { "data-table": t.id });
    var cells = {};
    cells.number = R.el("th", { scope: "row" });
    tr.appendChild(cells.number);
    ["seated", "connected", "facilitator", "messages", "last", "ideas"].forEach(function (key) {
      cells[key] = R.el("td", { class: "rt-cell-" + key });
      tr.appendChild(cells[key]);
    });
    var actions = R.el("td", { class: "rt-cell-actions" });
    var help = R.el("button", { type: "button", class: "button-small", hidden: "" });
    help.addEventListener("click", function () { answerHelp(t.id, help); });
    var chat = R.el("button", { type: "button", class: "button-small button-secondary" });
    chat.addEventListener("click", function () { openChat(t.id); });
    actions.appendChild(help);
    actions.appendChild(chat);
    tr.appendChild(actions);
    return { tr: tr, cells: cells, help: help, chat: chat, table: t };
  }

  function updateRow(row, t) {
    row.table = t;
    var c = row.cells;
    setText(c.number, t.number);
    setText(c.seated, t.seated);
    setText(c.connected, (t.connected || 0) + " / " + withDevice(t) +
      (t.on_paper ? " · " + R.fmt(labels.on_paper, { n: t.on_paper }) : ""));
    c.connected.classList.toggle("rt-warn", disconnected(t));
    setText(c.facilitator, t.no_facilitator ? "⚠ " + labels.no_facilitator : t.facilitators.join(", "));
    c.facilitator.classList.toggle("rt-warn", t.no_facilitator);
    setText(c.messages, t.messages_last_minute);
    setText(c.last, lastActivityText(t));
    setText(c.ideas, R.fmt(labels.ideas_count, { submitted: t.ideas_submitted, drafts: t.ideas_drafted || 0 }));
    row.tr.classList.toggle("rt-flagged", !!t.help);
    if (t.help) row.help.removeAttribute("hidden"); else row.help.setAttribute("hidden", "");
    setText(row.help, R.fmt(labels.answer, { n: t.number }));
    setText(row.chat, labels.chat_short);
    row.chat.setAttribute("aria-label", R.fmt(labels.open_chat, { n: t.number }));
  }

  function renderTables() {
    if (!data) return;
    var body = $("rt-tables");
    var seen = {};
    data.tables.forEach(function (t) {
      seen[t.id] = true;
      var row = rows[t.id];
      if (!row) { row = rows[t.id] = makeRow(t); }
      updateRow(row, t);
    });
    Object.keys(rows).forEach(function (id) {
      if (!seen[id]) { rows[id].tr.remove(); delete rows[id]; }
    });
    var visible = sorted(data.tables.filter(shown)).map(function (t) { return t.id; });
    var same = order !== null && visible.length === order.length &&
      visible.every(function (id, i) { return id === order[i]; });
    if (!same) {
      // Only the rows shown are in the table. A row already in its place is not touched:
      // moving the row under the pointer between mousedown and mouseup would cancel a click.
      Object.keys(rows).forEach(function (id) { if (visible.indexOf(Number(id)) < 0) rows[id].tr.remove(); });
      visible.forEach(function (id, i) {
        var tr = rows[id].tr;
        if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
      });
      order = visible;
    }
    setText($("rt-tables-shown"), R.fmt(labels.shown, { shown: visible.length, total: data.tables.length }));
    var help = $("rt-help-list");
    var flagged = data.tables.filter(function (t) { return t.help; }).map(function (t) { return R.fmt(labels.help_table, { n: t.number }); });
    var now = Array.prototype.map.call(help.children, function (li) { return li.textContent; });
    if (now.join("\n") !== flagged.join("\n")) {
      help.textContent = "";
      flagged.forEach(function (text) { help.appendChild(R.el("li", {}, text)); });
    }
    var c = data.counts || {};
    setText($("rt-counts"), R.fmt(labels.counts, {
      registered: c.registered || 0, seated: c.seated || 0, connected: c.connected || 0,
      with_device: c.with_device || 0,
      facilitators: c.facilitators || 0, missing: c.tables_without_facilitator || 0
    }));
  }

  /* The theme team's work, read-only: name, published or draft, the tables it came from. */
  function renderThemes() {
    var list = $("rt-console-themes");
    var lines = (data.themes || []).map(function (t) {
      return t.name + " · " + (t.published ? labels.theme_published : labels.theme_draft) +
        (t.tables.length ? " · " + R.fmt(labels.theme_tables, { tables: t.tables.join(", ") }) : "");
    });
    if (!lines.length) return;  // the empty-state line stays
    var now = Array.prototype.map.call(list.children, function (li) { return li.textContent; });
    if (now.join("\n") === lines.join("\n")) return;
    list.textContent = "";
    lines.forEach(function (text) { list.appendChild(R.el("li", {}, text)); });
  }

  /* Who takes part how, the poll's votes split the same way, and each table's kind. */
  var hybridBox = $("rt-hybrid");
  var hybridLabels = hybridBox ? JSON.parse(hybridBox.dataset.labels) : null;
  function renderHybrid() {
    if (!hybridBox || !data) return;
    var p = (data.participation || {}).participants || {};
    setText($("rt-participation"), R.fmt(hybridLabels.participants, { online: p.online || 0, hall: p.hall || 0, paper: p.paper || 0 }));
    var hall = data.tables.filter(function (t) { return t.kind !== "online"; }).map(function (t) {
      return R.fmt(hybridLabels.table, { n: t.number }) + ": " + hybridLabels.kinds[t.kind];
    });
    setText($("rt-hall-tables"), hall.length ? R.fmt(hybridLabels.hall_tables, { tables: hall.join(", ") }) : hybridLabels.no_hall_tables);
    var select = $("rt-kind-table");
    var wanted = data.tables.map(function (t) { return String(t.id); }).join(",");
    if (select.dataset.tables !== wanted) {
      var chosen = select.value;
      select.textContent = "";
      data.tables.forEach(function (t) {
        select.appendChild(R.el("option", { value: String(t.id) }, R.fmt(hybridLabels.table, { n: t.number })));
      });
      if (chosen) select.value = chosen;
      select.dataset.tables = wanted;
      showKindOf(select.value);
    }
    var split = tally && tally.by_takes_part;
    setText($("rt-poll-split"), split ? R.fmt(hybridLabels.votes, split) : "");
  }
  /* The kind list shows the chosen table's kind, so "Set" changes what is there. */
  function showKindOf(tableId) {
    var table = (data ? data.tables : []).filter(function (t) { return String(t.id) === String(tableId); })[0];
    if (table) $("rt-kind-kind").value = table.kind;
  }
  if (hybridBox) {
    $("rt-kind-table").addEventListener("change", function (event) { showKindOf(event.target.value); });
    $("rt-table-kind-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var kind = $("rt-kind-kind").value;
      live.send("table_kind", { table_id: Number($("rt-kind-table").value), kind: kind }, function (ack) {
        if (!ack.ok) return;
        announce(R.fmt(hybridLabels.kind_set, { n: ack.number, kind: hybridLabels.kinds[ack.kind] }));
        refreshSoon();
      });
    });
  }

  function renderConsole(overview) {
    data = overview;
    /* The stored history, oldest first so the newest ends on top (a reload keeps it). */
    (overview.broadcasts || []).slice().reverse().forEach(addBroadcast);
    renderTables();
    renderThemes();
    renderPollPanel();
    renderHybrid();
  }

  /* --- refreshing: batched ------------------------------------------------------------- */
  function refresh() {
    if (inFlight) { refreshSoon(); return; }
    inFlight = true;
    lastRefresh = Date.now();
    live.client.request("console", { session_id: live.sessionId }, function (ack) {
      inFlight = false;
      if (ack && ack.ok) renderConsole(ack.console);
    });
  }
  function refreshSoon() {
    if (refreshTimer) return;
    var wait = Math.max(0, REFRESH_GAP_MS - (Date.now() - lastRefresh));
    refreshTimer = window.setTimeout(function () { refreshTimer = null; refresh(); }, wait);
  }

  /* --- help and the table's chat ------------------------------------------------------- */
  function answerHelp(tableId, button) {
    var t = rows[tableId] ? rows[tableId].table : null;
    live.send("help_clear", { table_id: tableId }, function (ack) {
      if (!ack.ok) return;
      announce(R.fmt(labels.lead_on_way, { n: t ? t.number : "" }));
      openChat(tableId);
      refreshSoon();
    });
    if (button) button.blur();
  }

  function chatLine(m) {
    var li = R.el("li", {});
    li.appendChild(R.el("strong", {}, m.author + ": "));
    li.appendChild(document.createTextNode(m.body));
    return li;
  }

  function openChat(tableId) {
    var t = rows[tableId] ? rows[tableId].table : null;
    chatTable = tableId;
    var panel = $("rt-lead-chat");
    panel.hidden = false;
    $("rt-lead-chat-heading").textContent = R.fmt(labels.chat_title, { n: t ? t.number : "" });
    var log = $("rt-lead-chat-log");
    log.textContent = "";
    live.send("table_chat", { table_id: tableId }, function (ack) {
      if (!ack.ok || chatTable !== tableId) return;
      log.textContent = "";
      if (!ack.chat.length) log.appendChild(R.el("li", { class: "hint" }, labels.no_messages));
      ack.chat.forEach(function (m) { log.appendChild(chatLine(m)); });
      log.scrollTop = log.scrollHeight;
    });
    $("rt-lead-chat-text").focus();
  }

  /* --- the close summary --------------------------------------------------------------- */
  function showClosed(summary) {
    var section = $("rt-close-summary");
    var wasHidden = section.hidden;
    section.hidden = false;
    var link = $("rt-close-results");
    if (state.results_url) link.href = state.results_url;
    if (!summary) return;
    link.href = summary.results_url;
    link.textContent = labels.see_results;
    $("rt-close-rule").textContent = ruleSentence(summary);
    var list = $("rt-close-themes");
    list.textContent = "";
    if (!summary.themes.length) list.appendChild(R.el("li", {}, labels.no_themes));
    summary.themes.forEach(function (theme) {
      var li = R.el("li", { class: theme.passed ? "rt-passed" : "rt-failed" });
      var support = theme.support_percent === null ? "—" : R.fmt(labels.support, { pct: theme.support_percent });
      li.appendChild(R.el("strong", {}, theme.name));
      li.appendChild(document.createTextNode(": " + support + " · " + (theme.passed ? labels.passes : labels.fails) + " → "));
      if (theme.became) {
        var words = theme.became.kind === "proposal" ? labels.made_proposal : labels.made_item;
        li.appendChild(R.el("a", { href: theme.became.url }, R.fmt(words, { id: theme.became.id })));
      } else {
        li.appendChild(document.createTextNode(labels.made_nothing));
      }
      list.appendChild(li);
    });
    if (wasHidden || summary) $("rt-close-heading").focus();
  }

  /* --- wiring ---------------------------------------------------------------------------- */
  live = new R.Live({
    onSnapshot: function (snap) {
      applyState(snap);
      if (snap.console) renderConsole(snap.console);
      showPoll(snap.poll, snap.poll ? snap.poll.tally : null);
      pollView.show(snap.poll, snap.poll ? snap.poll.tally : null, null);
    },
    on: {
      phase: function (s) { applyState(s); },
      help_flag: refreshSoon,
      chat_message: function (m) {
        if (m.table_id === chatTable) {
          var log = $("rt-lead-chat-log");
          var empty = log.querySelector(".hint");
          if (empty) empty.remove();
          log.appendChild(chatLine(m));
          log.scrollTop = log.scrollHeight;
        }
        refreshSoon();
      },
      ideas_submitted: refreshSoon,
      seating: refreshSoon,
      table_merged: refreshSoon,
      people_changed: refreshSoon,
      participation: function (d) {
        if (!data) return;
        data.participation = Object.assign({}, data.participation, { participants: d.participants });
        renderHybrid();
      },
      broadcast: function (b) { addBroadcast(b); },
      poll_opened: function (p) { showPoll(p, null); pollView.show(p, null, null); },
      poll_closed: function (d) {
        if (!poll) return;
        var closed = Object.assign({}, poll, { state: "closed" });
        showPoll(closed, d.tally);
        pollView.show(closed, d.tally, null);
      },
      poll_tally: function (t) {
        if (poll && t.poll_id === poll.id) { tally = t; renderPollPanel(); }
        pollView.updateTally(t);
      }
    }
  });
  labels = live.labels;
  pollView = new R.PollView($("rt-poll"), live, null);
  window.setInterval(function () { if (!document.hidden) refresh(); }, PERIODIC_MS);
  window.setInterval(renderPollCountdown, 500);

  var broadcastsShown = {};
  function addBroadcast(b) {
    var key = b.id ? "id" + b.id : b.created_at + b.body;
    if (broadcastsShown[key]) return;
    broadcastsShown[key] = true;
    var list = $("rt-broadcasts");
    $("rt-broadcasts-empty").hidden = true;
    /* In the page's language and the lead's profile time zone (#rt-app's data-time-zone), as
       the server writes times, not in the browser's own locale and clock. */
    var time = window.MadangLive.localTime(b.created_at, { hour: "2-digit", minute: "2-digit" },
      $("rt-app").dataset.timeZone);
    list.insertBefore(R.el("li", {}, R.fmt(labels.broadcast_at, { time: time, text: b.body })), list.firstChild);
  }

  document.querySelectorAll("[data-action]").forEach(function (button) {
    button.addEventListener("click", function () {
      var event = button.dataset.action;
      var run = function () {
        live.send(event, {}, afterAction(event, function (ack) {
          // Seating answers how many tables have no facilitator (the people page fixes that).
          if (event === "seat_room" && ack.message) $("rt-seating-status").textContent = ack.message;
          if (event === "session_close") {
            if (ack.state) applyState(ack.state);
            showClosed(ack.summary);
          }
        }));
      };
      if (button.dataset.confirm) confirmThen(button.dataset.confirm, button, run); else run();
    });
  });
  document.querySelectorAll("[data-timer]").forEach(function (button) {
    button.addEventListener("click", function () {
      var payload = { action: button.dataset.timer };
      if (payload.action === "extend") payload.seconds = 60;
      var run = function () { live.send("timer", payload, afterAction(payload.action)); };
      if (button.dataset.confirm) confirmThen(button.dataset.confirm, button, run); else run();
    });
  });
  $("rt-phase-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var minutes = Number($("rt-phase-minutes").value || 0);
    var payload = { phase: $("rt-phase-select").value };
    if (minutes > 0) payload.duration_s = Math.round(minutes * 60);
    live.send("phase_set", payload, afterAction("phase_set"));
  });
  $("rt-broadcast-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = $("rt-broadcast-text");
    live.send("broadcast", { text: input.value }, afterAction("broadcast", function (ack) {
      input.value = "";
      if (ack.message) addBroadcast(ack.message);
    }));
  });
  $("rt-poll-form-open").addEventListener("submit", function (event) {
    event.preventDefault();
    var minutes = Number($("rt-poll-minutes").value || 0);
    var payload = {
      kind: $("rt-poll-kind").value,
      question: $("rt-poll-question").value,
      options: $("rt-poll-options").value.split("\n").map(function (s) { return s.trim(); }).filter(Boolean)
    };
    if (minutes > 0) payload.duration_s = Math.round(minutes * 60);
    live.send("poll_open", payload, afterAction("poll_open", function (ack) {
      if (ack.poll && (!poll || poll.id !== ack.poll.id)) { showPoll(ack.poll, null); pollView.show(ack.poll, null, null); }
    }));
  });
  $("rt-poll-close").addEventListener("click", function () {
    var button = this;
    if (!poll) return;
    var id = poll.id;
    confirmThen("poll_close", button, function () { live.send("poll_close", { poll_id: id }, afterAction("poll_close")); });
  });
  $("rt-lead-chat-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = $("rt-lead-chat-text");
    if (chatTable === null) return;
    var text = input.value;
    live.send("lead_chat_send", { table_id: chatTable, text: text, client_id: R.cid() }, afterAction("lead_chat_send", function () { if (input.value === text) { input.value = ""; } }), $("rt-lead-chat-error"));
  });
  $("rt-lead-chat-hide").addEventListener("click", function () {
    $("rt-lead-chat").hidden = true;
    chatTable = null;
    $("rt-tables-heading").focus();
  });
  ["rt-filter", "rt-sort", "rt-silent-minutes"].forEach(function (id) {
    // null, not []: a filter that matches no table must still take the rows away
    $(id).addEventListener("change", function () { order = null; renderTables(); });
  });
  $("rt-table-filters").addEventListener("submit", function (event) { event.preventDefault(); });
  // "Last chat or idea" ages with the clock even when nothing arrives.
  window.setInterval(function () { if (data) renderTables(); }, 15000);
  updateControls();
})();
