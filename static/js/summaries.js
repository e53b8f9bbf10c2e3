/* Opinion map of a consensus summary: a scatter of anonymous participants by group. */
(function () {
  "use strict";
  var canvas = document.getElementById("opinion-map");
  if (!canvas || typeof Chart === "undefined") { return; }
  // Colour-blind-safe palette (Okabe-Ito), each group also gets its own point shape.
  var colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];
  var shapes = ["circle", "triangle", "rect", "rectRot", "star", "crossRot"];
  var label = canvas.getAttribute("data-group-label") || "Group";
  fetch(canvas.getAttribute("data-source"), { credentials: "same-origin" })
    .then(function (response) { return response.json(); })
    .then(function (summary) {
      var byGroup = {};
      (summary.participants || []).forEach(function (p) {
        if (p.group === null) { return; }
        (byGroup[p.group] = byGroup[p.group] || []).push({ x: p.x, y: p.y });
      });
      var datasets = Object.keys(byGroup).sort().map(function (group, index) {
        return {
          label: label + " " + group,
          data: byGroup[group],
          backgroundColor: colours[index % colours.length],
          borderColor: colours[index % colours.length],
          pointStyle: shapes[index % shapes.length],
          pointRadius: 3
        };
      });
      canvas.chart = new Chart(canvas, {
        type: "scatter",
        data: { datasets: datasets },
        options: {
          animation: false,
          maintainAspectRatio: false,
          plugins: { legend: { position: "bottom" }, tooltip: { enabled: false } },
          scales: { x: { display: false }, y: { display: false } }
        }
      });
      canvas.setAttribute("data-ready", String(datasets.length));
    });
})();
