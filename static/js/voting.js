// Live turnout of one ballot over the /voting namespace (live.js); the server coalesces
// broadcasts. The seq is one counter for the whole site: a jump is no gap, an older one is dropped.
(function () {
  "use strict";
  var section = document.getElementById("turnout");
  if (!section || section.dataset.live !== "true" || typeof io === "undefined") { return; }
  var ballotId = parseInt(section.dataset.ballotId, 10);
  var status = { joined: false };
  window.madangVoting = status;

  function show(data) {
    if (!data || data.ballot_id !== ballotId) { return; }
    document.getElementById("turnout-voted").textContent = data.voted;
    document.getElementById("turnout-eligible").textContent = data.eligible;
    // As the server's `percent` filter writes it: one decimal, the sign joined ("41.7%").
    document.getElementById("turnout-percent").textContent = Number(data.turnout_percent).toFixed(1) + "%";
    if (data.by_channel) {
      document.getElementById("turnout-online").textContent = data.by_channel.online;
      document.getElementById("turnout-paper").textContent = data.by_channel.paper;
    }
    if (data.counts) {
      Object.keys(data.counts).forEach(function (key) {
        var cell = document.querySelector('#live-results td[data-option="' + key + '"]');
        if (cell) { cell.textContent = data.counts[key]; }
      });
    }
  }

  // After every (re)connect, join the room and catch up from a fresh snapshot.
  window.MadangLive.connect({
    namespace: "/voting",
    contiguous: false,
    join: function () { return ["join_ballot", { ballot_id: ballotId }]; },
    snapshot: function () { return ["snapshot", { ballot_id: ballotId }]; },
    snapshotSeq: function (ack) { return ack.turnout.seq; },
    onSnapshot: function (ack) { show(ack.turnout); status.joined = true; },
    on: {
      turnout: show,
      closed: function (data) {
        if (data && data.ballot_id === ballotId) { window.location.reload(); }
      }
    }
  });
})();
