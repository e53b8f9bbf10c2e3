/* The projector view: phase, countdown, the question and a big live chart of the tally. */
(function () {
  "use strict";
  var R = window.Roundtable;
  var root = document.getElementById("rt-app");
  var chart = null;
  var poll = null;
  var live;

  function series(tally) {
    var counts = (tally && tally.counts) || {};
    if (poll.kind === "agree") {
      return ["agree", "disagree", "pass"].map(function (stance) {
        return {
          label: live.labels.stances[stance],
          data: poll.options.map(function (o) { return (counts[String(o.id)] || {})[stance] || 0; })
        };
      });
    }
    return [{ label: live.labels.votes, data: poll.options.map(function (o) { return counts[String(o.id)] || 0; }) }];
  }

  var COLOURS = ["#0b5cad", "#a4161a", "#4a4a55"];

  function draw(tally) {
    if (!poll) return;
    var sets = series(tally);
    document.getElementById("rt-total").textContent = ((tally && tally.total) || 0) + " " + live.labels.votes;
    var list = document.getElementById("rt-results");
    list.textContent = "";
    poll.options.forEach(function (o, i) {
      list.appendChild(R.el("li", {}, o.label + ": " + sets.map(function (s) { return (sets.length > 1 ? s.label + " " : "") + s.data[i]; }).join(", ")));
    });
    if (!window.Chart) return;
    if (!chart) {
      chart = new window.Chart(document.getElementById("rt-chart"), {
        type: "bar",
        data: { labels: poll.options.map(function (o) { return o.label; }), datasets: [] },
        options: {
          animation: false,
          indexAxis: "y",
          responsive: true,
          maintainAspectRatio: false,
          plugins: { legend: { display: poll.kind === "agree", labels: { font: { size: 24 } } } },
          scales: { x: { beginAtZero: true, ticks: { precision: 0, font: { size: 22 } } }, y: { ticks: { font: { size: 28 } } } }
        }
      });
    }
    chart.data.labels = poll.options.map(function (o) { return o.label; });
    chart.data.datasets = sets.map(function (s, i) {
      return { label: s.label, data: s.data, backgroundColor: COLOURS[i % COLOURS.length] };
    });
    chart.update();
    root.dataset.total = String((tally && tally.total) || 0);
  }

  function showPoll(newPoll, tally) {
    poll = newPoll;
    if (chart) { chart.destroy(); chart = null; }
    document.getElementById("rt-question").textContent = poll ? poll.question : live.labels.no_poll;
    if (poll) draw(tally);
  }

  live = new R.Live({
    projectorToken: root.dataset.token,
    onSnapshot: function (snap) { showPoll(snap.poll, snap.poll ? snap.poll.tally : null); },
    on: {
      poll_opened: function (p) { showPoll(p, null); },
      poll_tally: function (tally) { if (poll && tally.poll_id === poll.id) draw(tally); },
      poll_closed: function (data) { if (poll && data.poll_id === poll.id) draw(data.tally); }
    }
  });
})();
