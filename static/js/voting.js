// Live turnout of one ballot over the /voting namespace; the server coalesces broadcasts.
(function () {
  "use strict";
  var section = document.getElementById("turnout");
  if (!section || section.dataset.live !== "true" || typeof io === "undefined") { return; }
  var ballotId = parseInt(section.dataset.ballotId, 10);
  var lastSeq = 0;
  var status = { joined: false };
  window.madangVoting = status;

  function show(data) {
    if (!data || data.ballot_id !== ballotId) { return; }
    if (data.seq && data.seq < lastSeq) { return; }
    lastSeq = data.seq || lastSeq;
    document.getElementById("turnout-voted").textContent = data.voted;
    document.getElementById("turnout-eligible").textContent = data.eligible;
    document.getElementById("turnout-percent").textContent = data.turnout_percent;
    if (data.counts) {
      Object.keys(data.counts).forEach(function (key) {
        var cell = document.querySelector('#live-results td[data-option="' + key + '"]');
        if (cell) { cell.textContent = data.counts[key]; }
      });
    }
  }

  var socket = io("/voting", { transports: ["websocket", "polling"] });
  socket.on("connect", function () {
    // After every (re)connect, join the room and catch up from a fresh snapshot.
    socket.emit("join_ballot", { ballot_id: ballotId }, function (ack) {
      if (ack && ack.ok) { show(ack.turnout); status.joined = true; }
    });
  });
  socket.on("turnout", show);
  socket.on("closed", function (data) {
    if (data && data.ballot_id === ballotId) { window.location.reload(); }
  });
})();
