/* The projector view, readable at the back of a hall: phase and countdown, the briefing, the
   lead's broadcasts, the published themes and the open poll with its time left, live bars with
   percentages (labels wrap, never cut), the threshold line when the tally carries one, and the
   final result once the poll closes. Bars are HTML, so long labels wrap like any text. */
(function () {
  "use strict";
  var R = window.Roundtable;
  var root = document.getElementById("rt-app");
  var poll = null;
  var tally = null;
  var live;

  function percent(count, total) {
    return total ? Math.round((count / total) * 100) : 0;
  }

  /* One row per option: its label, a bar (stacked agree/disagree/pass on agree polls) and the
     figures in words, with the threshold line and pass/fail when the tally has them. */
  function row(option) {
    var labels = live.labels;
    var counts = (tally && tally.counts) || {};
    var item = R.el("li", { class: "rt-bar-row", "data-option": option.id });
    item.appendChild(R.el("span", { class: "rt-bar-label" }, option.label));
    var track = R.el("span", { class: "rt-bar-track", "aria-hidden": "true" });
    var words;
    var share;
    if (poll.kind === "agree") {
      var c = counts[String(option.id)] || { agree: 0, disagree: 0, pass: 0 };
      var total = c.agree + c.disagree + c.pass;
      ["agree", "disagree", "pass"].forEach(function (s) {
        var bar = R.el("span", { class: "rt-bar rt-bar-" + s });
        bar.style.width = percent(c[s], total) + "%";
        track.appendChild(bar);
      });
      share = percent(c.agree, total);
      words = ["agree", "disagree", "pass"].map(function (s) {
        return labels.stances[s] + " " + c[s] + " (" + percent(c[s], total) + "%)";
      }).join(" · ");
    } else {
      var n = counts[String(option.id)] || 0;
      share = percent(n, (tally && tally.total) || 0);
      var bar = R.el("span", { class: "rt-bar rt-bar-agree" });
      bar.style.width = share + "%";
      track.appendChild(bar);
      words = n + " (" + share + "%)";
    }
    if (tally && typeof tally.threshold_percent === "number") {
      var line = R.el("span", { class: "rt-threshold-line" });
      line.style.left = tally.threshold_percent + "%";
      track.appendChild(line);
    }
    item.appendChild(track);
    var passes = tally && tally.passes ? tally.passes[String(option.id)] : undefined;
    if (passes !== undefined) words += " · " + (passes ? labels.poll_passes : labels.poll_fails);
    item.appendChild(R.el("span", { class: "rt-bar-value" }, words));
    item.dataset.share = String(share);
    return item;
  }

  function draw() {
    if (!poll) return;
    var labels = live.labels;
    var list = document.getElementById("rt-results");
    list.textContent = "";
    poll.options.forEach(function (o) { list.appendChild(row(o)); });
    document.getElementById("rt-total").textContent = R.plural(labels.vote_count, (tally && tally.total) || 0);
    var threshold = document.getElementById("rt-threshold");
    var hasThreshold = tally && typeof tally.threshold_percent === "number";
    threshold.hidden = !hasThreshold;
    if (hasThreshold) threshold.textContent = R.fmt(tally.rule === "more_than" ? labels.poll_threshold_more_than : labels.poll_threshold, { p: tally.threshold_percent });
    root.dataset.total = String((tally && tally.total) || 0);
    var split = tally && tally.by_takes_part;
    document.getElementById("rt-split").textContent = split ? R.fmt(hybrid.votes, split) : "";
    renderPollState();
  }

  function renderPollState() {
    if (!poll) return;
    var labels = live.labels;
    var node = document.getElementById("rt-poll-state");
    var text;
    if (poll.state !== "open") text = labels.poll_final;
    else if (!poll.closes_at) text = labels.poll_open_untimed;
    else {
      var s = Math.max(0, Math.round((Date.parse(poll.closes_at) - (Date.now() + live.countdown.offset)) / 1000));
      text = s ? R.fmt(labels.poll_time_left, { t: Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0") }) : labels.poll_time_up;
    }
    if (node.textContent !== text) node.textContent = text;
    root.dataset.pollState = poll.state;
  }

  function showPoll(newPoll, newTally) {
    poll = newPoll;
    tally = newTally || null;
    document.getElementById("rt-projector-poll").hidden = !poll;
    /* The briefing fills the screen until there is a poll to show. */
    document.getElementById("rt-projector-briefing").hidden = !!poll;
    document.getElementById("rt-question").textContent = poll ? poll.question : labels().no_poll;
    if (poll) draw();
  }
  function labels() { return live.labels; }

  function showThemes(list) {
    var node = document.getElementById("rt-themes");
    node.textContent = "";
    list.forEach(function (t) { node.appendChild(R.el("li", {}, t.name)); });
    document.getElementById("rt-projector-themes").hidden = list.length === 0;
  }

  /* Who takes part how (online, in the hall, on paper), in the words the page carries. */
  var hybrid = JSON.parse(document.getElementById("rt-projector-participation").dataset.labels);

  function showParticipation(p) {
    p = p || {};
    document.getElementById("rt-participation").textContent =
      R.fmt(hybrid.participants, { online: p.online || 0, hall: p.hall || 0, paper: p.paper || 0 });
  }

  live = new R.Live({
    projectorToken: root.dataset.token,
    onSnapshot: function (snap) {
      showParticipation((snap.participation || {}).participants);
      showPoll(snap.poll, snap.poll ? snap.poll.tally : null);
      showThemes(snap.themes || []);
    },
    on: {
      poll_opened: function (p) { showPoll(p, null); },
      /* someone registered (online, in the hall, on paper): the split, live */
      participation: function (data) { showParticipation(data.participants); },
      poll_tally: function (t) { if (poll && t.poll_id === poll.id) { tally = t; draw(); } },
      poll_closed: function (data) {
        if (poll && data.poll_id === poll.id) { poll = Object.assign({}, poll, { state: "closed" }); tally = data.tally; draw(); }
      },
      themes: function (data) { showThemes((data.themes || []).filter(function (t) { return t.published; })); },
      broadcast: function (data) {
        document.getElementById("rt-projector-broadcast").hidden = false;
        document.getElementById("rt-broadcast").textContent = data.author + ": " + data.body;
      }
    }
  });
  window.setInterval(renderPollState, 500);
})();
