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

  function renderIdeas(list) {
    ideas.textContent = "";
    list.forEach(function (idea) {
      var item = R.el("li", {}, idea.body + " ");
      item.appendChild(R.el("span", { class: "tag" }, idea.submitted ? live.labels.submitted : live.labels.draft));
      ideas.appendChild(item);
    });
  }
  var ideaList = [];
  function upsertIdea(idea) {
    ideaList = ideaList.filter(function (i) { return i.id !== idea.id; }).concat([idea]);
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
