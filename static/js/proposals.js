// Live proposal timelines and notifications over the /proposals namespace (live.js).
(function () {
  "use strict";
  if (typeof io === "undefined") { return; }
  var stateLine = document.getElementById("proposal-state");
  var timelineLive = document.getElementById("timeline-live");
  var list = document.getElementById("notification-list");
  var liveNote = document.getElementById("notifications-live");
  var unread = document.getElementById("unread-count");
  var proposalId = stateLine ? parseInt(stateLine.dataset.proposalId, 10) : null;
  // The last step this page shows: a step added between rendering and following is caught
  // by the first follow's ack, not only steps missed while disconnected later.
  var timelineList = document.getElementById("timeline");
  var lastEventId = timelineList && timelineList.dataset.lastEventId
    ? parseInt(timelineList.dataset.lastEventId, 10) : null;

  window.MadangLive.connect({
    namespace: "/proposals",
    // A proposal's page follows it after every (re)connect; the ack names its last step.
    join: proposalId ? function () { return ["follow", { proposal_id: proposalId }]; } : null,
    onSnapshot: function (ack) {
      // Missed a step while disconnected: reload to show the full timeline.
      if (lastEventId !== null && ack.last_event_id !== lastEventId) { window.location.reload(); }
      lastEventId = ack.last_event_id;
    },
    on: {
      timeline: function (data) {
        if (!proposalId || !data || data.proposal_id !== proposalId) { return; }
        if (timelineLive) {
          timelineLive.textContent = timelineLive.dataset.message || "New step on the timeline. Reloading…";
        }
        window.setTimeout(function () { window.location.reload(); }, 800);
      },
      notification: function (data) {
        if (!list || !data) { return; }
        var item = document.createElement("li");
        item.className = "notification-unread";
        var link = document.createElement("a");
        link.href = "/proposals/" + data.proposal_id + "#step-" + data.event_id;
        link.textContent = data.title;
        item.appendChild(link);
        list.insertBefore(item, list.firstChild);
        var empty = document.getElementById("no-notifications");
        if (empty) { empty.remove(); }
        if (unread) {
          var count = parseInt(unread.dataset.count || "0", 10) + 1;
          unread.dataset.count = String(count);
        }
        if (liveNote) { liveNote.textContent = data.title; }
      }
    }
  });
})();
