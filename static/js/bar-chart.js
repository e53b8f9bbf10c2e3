/* Bar charts drawn from data on the canvas: <canvas class="bar-chart" data-chart='{"labels":
   [...], "datasets": [{"label": ..., "data": [...]}], "stacked": true}'>. The same figures are
   always in a table beside the chart, for screen readers and for printing. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  // Colour-blind-safe palette (Okabe-Ito).
  var colours = ["#009E73", "#E69F00", "#D55E00", "#0072B2", "#CC79A7", "#56B4E9"];
  document.querySelectorAll("canvas.bar-chart").forEach(function (canvas) {
    var spec = JSON.parse(canvas.getAttribute("data-chart"));
    var datasets = spec.datasets.map(function (set, index) {
      return {
        label: set.label,
        data: set.data,
        backgroundColor: set.colour || colours[index % colours.length]
      };
    });
    canvas.chart = new Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: spec.horizontal ? "y" : "x",
        plugins: { legend: { position: "bottom", display: datasets.length > 1 } },
        scales: {
          x: { stacked: !!spec.stacked, beginAtZero: true },
          y: { stacked: !!spec.stacked, beginAtZero: true }
        }
      }
    });
    canvas.setAttribute("data-ready", String(datasets.length));
  });
})();
