/* The participant's table page, phone first: the task of the current phase comes first (the
   briefing, the chat, the ideas, the poll), the rest folds away below. Seat, table, facilitator
   and connection stay current; after the close, input is disabled and the results are linked. */
(function () {
  "use strict";
  var R = window.Roundtable;
  var root = document.getElementById("rt-app");
  var seat = null;
  var chat = document.getElementById("rt-chat");
  var ideas = document.getElementById("rt-ideas");
  var ideaForm = document.getElementById("rt-idea-form");
  var themes = document.getElementById("rt-themes");
  var now = document.getElementById("rt-now");
  var more = document.getElementById("rt-more-panels");
  var seen = {};
  var closed = false;
  var live;
  var pollView;

  /* Other scripts of the page (the paper participants' panel) follow the same socket. */
  var hooks = { snapshot: [], events: {} };
  var lastSnapshot = null;
  function fire(name, data) { (hooks.events[name] || []).forEach(function (f) { f(data); }); }
  R.room = {
    seat: function () { return seat; },
    closed: function () { return closed; },
    live: function () { return live; },
    /* A script that arrives after the first snapshot (a slow download) gets it at once. */
    onSnapshot: function (f) { hooks.snapshot.push(f); if (lastSnapshot) f(lastSnapshot); },
    on: function (name, f) { (hooks.events[name] = hooks.events[name] || []).push(f); }
  };

  function panel(name) { return document.getElementById("rt-panel-" + name); }

  /* Which panels make the task of a phase (or session state), most important first. */
  function tasksFor(phase) {
    var facilitating = seat && seat.role === "table_facilitator";
    switch (phase) {
      case "discussion": return facilitating ? ["chat", "ideas"] : ["chat"];
      case "submissions": return ["ideas", "chat"];
      case "synthesis": return ["themes", "chat"];
      case "poll": return ["poll"];
      case "results": case "closed": return ["poll", "themes"];
      default: return ["briefing"];
    }
  }

  /* Put the current task's panels on top and fold the others away (moved, not re-ordered by
     CSS, so screen readers and the keyboard meet them in the order the eye does). */
  function arrange(phase) {
    var tasks = tasksFor(phase);
    tasks.forEach(function (name) { now.appendChild(panel(name)); });
    var folded = [];
    ["briefing", "chat", "ideas", "poll", "themes"].forEach(function (name) {
      if (tasks.indexOf(name) >= 0) return;
      more.appendChild(panel(name));
      folded.push(panel(name).querySelector("h2").textContent);
    });
    /* The fold names what it holds, so nobody opens it to find out. */
    document.getElementById("rt-more-summary").textContent = live.labels.more + ": " + folded.join(", ");
  }

  function showSeat() {
    var seatNode = document.getElementById("rt-seat");
    var facNode = document.getElementById("rt-facilitator");
    seatNode.textContent = seat && seat.table_number ? R.fmt(live.labels.seat, { n: seat.table_number }) : live.labels.no_seat;
    if (!seat || !seat.table_number) facNode.textContent = "";
    else if (seat.role === "table_facilitator") facNode.textContent = live.labels.seat_you_facilitate;
    else facNode.textContent = seat.facilitator ? R.fmt(live.labels.seat_facilitator, { name: seat.facilitator }) : live.labels.seat_no_facilitator;
    ideaForm.hidden = closed || !(seat && seat.role === "table_facilitator" && seat.table_id);
  }

  function addMessage(m) {
    if (seen[m.id]) return;
    seen[m.id] = true;
    var item = R.el("li", {});
    item.appendChild(R.el("strong", {}, m.author + ": "));
    item.appendChild(document.createTextNode(m.body));
    chat.appendChild(item);
    while (chat.children.length > 100) chat.removeChild(chat.firstChild);
    chat.scrollTop = chat.scrollHeight;
  }

  /* The table facilitator may reword or delete a draft idea; everyone sees "3 of 5 ideas". */
  var ideaLimit = Number(ideas.dataset.limit || 0);
  function isFacilitator() { return !!(seat && seat.role === "table_facilitator" && seat.table_id); }
  function ideaStatus(text) { document.getElementById("rt-idea-status").textContent = text; }
  /* The draft being reworded survives the list being drawn again (an idea arriving, the
     add's echo, a reconnect's snapshot): its text, and the focus if it had it. */
  var editing = null;
  function editIdea(item, idea, text, focus) {
    item.textContent = "";
    var id = "rt-idea-edit-" + idea.id;
    item.appendChild(R.el("label", { for: id, class: "visually-hidden" }, live.labels.edit_idea));
    var input = R.el("input", { id: id, maxlength: "300", autocomplete: "off" });
    input.value = text === undefined ? idea.body : text;
    var save = R.el("button", { type: "button", class: "button-small" }, live.labels.save);
    var cancel = R.el("button", { type: "button", class: "button-small button-secondary" }, live.labels.cancel);
    save.addEventListener("click", function () {
      live.send("idea_edit", { idea_id: idea.id, text: input.value }, function (ack) {
        // The edit's echo may have come first and found the rewording still open: close it.
        if (ack.ok) { editing = null; storeIdea(ack.idea); renderIdeas(ideaList); ideaStatus(live.labels.idea_saved); }
      });
    });
    cancel.addEventListener("click", function () { editing = null; renderIdeas(ideaList); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); save.click(); }
      if (event.key === "Escape") cancel.click();
    });
    [input, save, cancel].forEach(function (n) { item.appendChild(n); });
    editing = { id: idea.id, input: input };
    if (focus !== false) input.focus();
  }
  var ideaList = [];
  function renderIdeas(list) {
    var open = editing;
    var openText = open ? open.input.value : undefined;
    var openFocused = !!open && document.activeElement === open.input;
    editing = null;
    ideas.textContent = "";
    list.forEach(function (idea) {
      var item = R.el("li", {}, idea.body + " ");
      item.appendChild(R.el("span", { class: "tag" }, idea.submitted ? live.labels.submitted : live.labels.draft));
      if (!idea.submitted && isFacilitator()) {
        var edit = R.el("button", { type: "button", class: "button-small button-secondary" }, live.labels.edit);
        edit.setAttribute("aria-label", live.labels.edit + ": " + idea.body);
        edit.addEventListener("click", function () { editIdea(item, idea); });
        var remove = R.el("button", { type: "button", class: "button-small button-secondary" }, live.labels.delete);
        remove.setAttribute("aria-label", live.labels.delete + ": " + idea.body);
        remove.addEventListener("click", function () {
          live.send("idea_delete", { idea_id: idea.id }, function (ack) {
            if (ack.ok) { removeIdea(ack); ideaStatus(live.labels.idea_deleted); }
          });
        });
        item.appendChild(edit);
        item.appendChild(remove);
      }
      ideas.appendChild(item);
      if (open && open.id === idea.id && !idea.submitted && isFacilitator()) {
        editIdea(item, idea, openText, openFocused);
      }
    });
    var count = document.getElementById("rt-idea-count");
    if (count && ideaLimit) count.textContent = R.fmt(live.labels.ideas_of, { n: list.length, max: ideaLimit });
    var add = document.getElementById("rt-idea-add");
    if (add && ideaLimit) add.disabled = list.length >= ideaLimit;
    document.getElementById("rt-ideas-empty").hidden = list.length > 0;
  }
  /* Store an idea; whether that changed the list (the add's echo and its acknowledgement
     bring the same idea twice, and drawing it again would only disturb a screen reader). */
  function storeIdea(idea) {
    var found = false, changed = true;
    ideaList = ideaList.map(function (i) {
      if (i.id !== idea.id) return i;
      found = true;
      changed = JSON.stringify(i) !== JSON.stringify(idea);
      return idea;
    });
    if (!found) ideaList.push(idea);
    return changed;
  }
  function upsertIdea(idea) {
    if (storeIdea(idea)) renderIdeas(ideaList);
  }
  function removeIdea(data) {
    ideaList = ideaList.filter(function (i) { return i.id !== data.idea_id; });
    renderIdeas(ideaList);
  }

  function renderThemes(list) {
    themes.textContent = "";
    list.forEach(function (t) {
      var item = R.el("li", {});
      item.appendChild(R.el("strong", {}, t.name));
      if (t.description) item.appendChild(document.createTextNode(" — " + t.description));
      themes.appendChild(item);
    });
    document.getElementById("rt-themes-empty").hidden = list.length > 0;
  }

  /* After the close: say so, link the results, and disable every input with the reason. */
  function closeRoom(state) {
    if (closed) return;
    closed = true;
    var box = document.getElementById("rt-closed");
    if (state && state.results_url) document.getElementById("rt-results-link").href = state.results_url;
    box.hidden = false;
    document.getElementById("rt-chat-closed").textContent = live.labels.session_closed;
    document.querySelectorAll("#rt-chat-form input, #rt-chat-form button, #rt-help-form button, #rt-idea-form input, #rt-idea-form button").forEach(function (node) {
      node.disabled = true;
    });
    ideaForm.hidden = true;
  }

  function applyState(state) {
    var phase = state.state === "closed" ? "closed" : (state.phase || state.state);
    if (root.dataset.arranged !== phase) {
      root.dataset.arranged = phase;
      arrange(phase);
    }
    if (state.state === "closed") closeRoom(state);
  }

  /* A poll opened: bring it to the top, announce it and move the focus to it. */
  function pollOpened(poll) {
    pollView.show(poll, null, null);
    now.insertBefore(panel("poll"), now.firstChild);
    document.getElementById("rt-announce").textContent = R.fmt(live.labels.poll_announce, { q: poll.question });
    document.getElementById("poll-heading").focus();
  }

  live = new R.Live({
    onSnapshot: function (snap) {
      seat = snap.seat;
      pollView.seat = seat;
      showSeat();
      chat.textContent = "";
      seen = {};
      snap.chat.forEach(addMessage);
      ideaList = snap.ideas.slice();
      renderIdeas(ideaList);
      renderThemes(snap.themes);
      root.dataset.arranged = "";
      applyState(snap);
      var poll = snap.poll;
      pollView.show(poll, poll ? poll.tally : null, poll ? poll.my_vote : null);
      lastSnapshot = snap;
      hooks.snapshot.forEach(function (f) { f(snap); });
    },
    on: {
      phase: applyState,
      chat_message: addMessage,
      idea: upsertIdea,
      idea_deleted: removeIdea,
      ideas_submitted: function (data) { data.ideas.forEach(upsertIdea); },
      themes: function (data) { renderThemes(data.themes); },
      poll_opened: function (poll) { pollOpened(poll); fire("poll_opened", poll); },
      poll_closed: function (data) { pollView.close(data); fire("poll_closed", data); },
      paper_changed: function (data) { fire("paper_changed", data); },
      table_kind_changed: function (data) { fire("table_kind_changed", data); },
      poll_tally: function (tally) { pollView.updateTally(tally); },
      broadcast: function (data) {
        document.getElementById("rt-broadcasts").hidden = false;
        document.getElementById("rt-broadcast").textContent = data.author + ": " + data.body;
      },
      /* The lead moved this person or changed their role: say so (the rejoin updates the seat). */
      seat_changed: function (data) {
        var note = document.getElementById("rt-seat-note");
        if (!note) return;
        if (data.change === "role") {
          var text = R.fmt(live.labels.now_role, { role: live.labels.roles[data.role] || data.role });
          note.textContent = data.table_number ? text + " " + R.fmt(live.labels.seat, { n: data.table_number }) : text;
        } else if (data.table_number) {
          note.textContent = R.fmt(live.labels.moved, { n: data.table_number });
        }
      },
      /* The table's facilitator changed (a move or a new role): the name is current at once. */
      table_changed: function (data) {
        if (!seat || seat.table_id !== data.table_id) return;
        seat.facilitator = data.facilitator;
        showSeat();
      },
      help_flag: function (data) {
        /* Its own line: the connection state stays where it is. */
        document.getElementById("rt-help-status").textContent = data.help ? live.labels.help_sent : live.labels.help_answered;
      }
    }
  });
  pollView = new R.PollView(document.getElementById("rt-poll"), live, document.getElementById("rt-vote-status"));
  applyState({ state: root.dataset.phase, phase: root.dataset.phase });

  var chatError = document.getElementById("rt-chat-error");
  document.getElementById("rt-chat-text").addEventListener("input", function () { chatError.textContent = ""; });
  document.getElementById("rt-chat-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("rt-chat-text");
    if (closed) return;
    if (!input.value.trim()) {
      // Only spaces: nothing is sent, and the person is told why (beside the field, and read
      // out by the page's live region).
      chatError.textContent = live.labels.chat_empty;
      var announcer = document.getElementById("rt-announce");
      announcer.textContent = "";
      window.setTimeout(function () { announcer.textContent = live.labels.chat_empty; }, 50);
      input.focus();
      return;
    }
    var text = input.value;
    live.send("chat_send", { text: text, client_id: R.cid() }, function (ack) {
      // Clear only what was sent: the table's broadcast can come before this ack, and the
      // person may already be typing the next line.
      if (ack.ok) { if (input.value === text) { input.value = ""; } addMessage(ack.message); }
    }, chatError);
  });
  document.getElementById("rt-help-form").addEventListener("submit", function (event) {
    event.preventDefault();
    live.send("help_request", {});
  });
  ideaForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("rt-idea-text");
    var text = input.value;
    live.send("idea_add", { table_id: seat.table_id, text: text, client_id: R.cid() }, function (ack) {
      if (ack.ok) { if (input.value === text) { input.value = ""; } upsertIdea(ack.idea); }
    });
  });
  document.getElementById("rt-ideas-submit").addEventListener("click", function () {
    live.send("ideas_submit", { table_id: seat.table_id });
  });
})();
