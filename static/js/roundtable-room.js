/* The participant's table page: chat, ideas (table facilitator), help, poll, themes. */
(function () {
  "use strict";
  var R = window.Roundtable;
  var seat = null;
  var chat = document.getElementById("rt-chat");
  var ideas = document.getElementById("rt-ideas");
  var ideaForm = document.getElementById("rt-idea-form");
  var themes = document.getElementById("rt-themes");
  var seen = {};
  var live;
  var pollView;

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
  function editIdea(item, idea) {
    item.textContent = "";
    var id = "rt-idea-edit-" + idea.id;
    item.appendChild(R.el("label", { for: id, class: "visually-hidden" }, live.labels.edit_idea));
    var input = R.el("input", { id: id, maxlength: "300", autocomplete: "off" });
    input.value = idea.body;
    var save = R.el("button", { type: "button", class: "button-small" }, live.labels.save);
    var cancel = R.el("button", { type: "button", class: "button-small button-secondary" }, live.labels.cancel);
    save.addEventListener("click", function () {
      live.send("idea_edit", { idea_id: idea.id, text: input.value }, function (ack) {
        if (ack.ok) { upsertIdea(ack.idea); ideaStatus(live.labels.idea_saved); }
      });
    });
    cancel.addEventListener("click", function () { renderIdeas(ideaList); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); save.click(); }
      if (event.key === "Escape") cancel.click();
    });
    [input, save, cancel].forEach(function (n) { item.appendChild(n); });
    input.focus();
  }
  function renderIdeas(list) {
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
    });
    var count = document.getElementById("rt-idea-count");
    if (count && ideaLimit) count.textContent = R.fmt(live.labels.ideas_of, { n: list.length, max: ideaLimit });
    var add = document.getElementById("rt-idea-add");
    if (add && ideaLimit) add.disabled = list.length >= ideaLimit;
  }
  var ideaList = [];
  function upsertIdea(idea) {
    var found = false;
    ideaList = ideaList.map(function (i) { if (i.id === idea.id) { found = true; return idea; } return i; });
    if (!found) ideaList.push(idea);
    renderIdeas(ideaList);
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
  }

  live = new R.Live({
    onSnapshot: function (snap) {
      seat = snap.seat;
      var seatNode = document.getElementById("rt-seat");
      seatNode.textContent = seat && seat.table_number ? R.fmt(live.labels.seat, { n: seat.table_number }) : live.labels.no_seat;
      ideaForm.hidden = !(seat && seat.role === "table_facilitator" && seat.table_id);
      chat.textContent = "";
      seen = {};
      snap.chat.forEach(addMessage);
      ideaList = snap.ideas.slice();
      renderIdeas(ideaList);
      renderThemes(snap.themes);
      var poll = snap.poll;
      pollView.show(poll, poll ? poll.tally : null, poll ? poll.my_vote : null);
    },
    on: {
      chat_message: addMessage,
      idea: upsertIdea,
      idea_deleted: removeIdea,
      ideas_submitted: function (data) { data.ideas.forEach(upsertIdea); },
      themes: function (data) { renderThemes(data.themes); },
      poll_opened: function (poll) { pollView.show(poll, null, null); },
      poll_closed: function (data) {
        if (pollView.poll && pollView.poll.id === data.poll_id) {
          pollView.show(Object.assign({}, pollView.poll, { state: "closed" }), data.tally, pollView.myVote);
        }
      },
      poll_tally: function (tally) { pollView.updateTally(tally); },
      broadcast: function (data) {
        var box = document.getElementById("rt-broadcast");
        box.hidden = false;
        box.textContent = data.author + ": " + data.body;
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
      help_flag: function (data) {
        document.getElementById("rt-connection").textContent = data.help ? live.labels.help_sent : "";
      }
    }
  });
  pollView = new R.PollView(document.getElementById("rt-poll"), live, document.getElementById("rt-vote-status"));

  document.getElementById("rt-chat-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("rt-chat-text");
    if (!input.value.trim()) return;
    live.send("chat_send", { text: input.value, client_id: R.cid() }, function (ack) {
      if (ack.ok) { input.value = ""; addMessage(ack.message); }
    });
  });
  document.getElementById("rt-help-form").addEventListener("submit", function (event) {
    event.preventDefault();
    live.send("help_request", {});
  });
  ideaForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("rt-idea-text");
    live.send("idea_add", { table_id: seat.table_id, text: input.value, client_id: R.cid() }, function (ack) {
      if (ack.ok) { input.value = ""; upsertIdea(ack.idea); }
    });
  });
  document.getElementById("rt-ideas-submit").addEventListener("click", function () {
    live.send("ideas_submit", { table_id: seat.table_id });
  });
})();
