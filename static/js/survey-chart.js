/* The survey results chart (evaluations/results.html): one horizontal stacked bar per
   statement, drawn from <canvas class="survey-chart" data-chart='{"labels": [...], "datasets":
   [{"label": ..., "data": [...], "colour": ...}]}'>. Every statement is labelled in full, at the
   page's body text size: a label wider than the room beside the bars is wrapped over lines, no
   label is skipped, and the chart grows as tall as the lines need (on a phone too). The same
   figures are in the tables below the chart, for screen readers and printing. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var colours = ["#D55E00", "#E69F00", "#BBBBBB", "#56B4E9", "#0072B2"];
  //: Chart.js gives the label axis at most half the chart's width; this keeps clear of it.
  var LABEL_SHARE = 0.45;
  var LINE_HEIGHT = 1.25;

  function bodyFont() {
    var style = window.getComputedStyle(document.body);
    return { size: parseFloat(style.fontSize) || 16, family: style.fontFamily };
  }

  // Break a text into lines no wider than `room`, at spaces (a word wider than the room, as
  // a long word may be, is broken between characters).
  function wrap(context, text, room) {
    var lines = [];
    var line = "";
    text.split(/\s+/).forEach(function (word) {
      var candidate = line ? line + " " + word : word;
      if (context.measureText(candidate).width <= room) { line = candidate; return; }
      if (line) { lines.push(line); }
      line = "";
      Array.from(word).forEach(function (character) {
        if (line && context.measureText(line + character).width > room) {
          lines.push(line);
          line = "";
        }
        line += character;
      });
    });
    if (line) { lines.push(line); }
    return lines;
  }

  function wrappedLabels(canvas, texts, font, width) {
    var context = document.createElement("canvas").getContext("2d");
    context.font = font.size + "px " + font.family;
    var room = Math.max(width * LABEL_SHARE - 16, font.size * 4);
    return texts.map(function (text) { return wrap(context, text, room); });
  }

  // Label every statement for the chart's current width, then make the plot area tall enough
  // for each statement's lines (never shorter than the stylesheet's chart box).
  function fit(chart, texts, font, box, baseHeight) {
    var width = chart.width;
    var labels = wrappedLabels(chart.canvas, texts, font, width);
    chart.data.labels = labels;
    chart.$labelledWidth = width;
    var lines = Math.max.apply(null, labels.map(function (l) { return l.length; }));
    var perBar = lines * font.size * LINE_HEIGHT + font.size;
    chart.update();
    var around = chart.height - (chart.chartArea.bottom - chart.chartArea.top);
    var needed = Math.ceil(labels.length * perBar + around);
    var height = Math.max(baseHeight, needed);
    if (Math.abs(box.clientHeight - height) > 1) {
      box.style.height = height + "px";
      chart.resize();
    }
  }

  document.querySelectorAll("canvas.survey-chart").forEach(function (canvas) {
    var spec = JSON.parse(canvas.getAttribute("data-chart"));
    var box = canvas.parentElement;
    var baseHeight = box.clientHeight;
    var font = bodyFont();
    var datasets = spec.datasets.map(function (set, index) {
      return {
        label: set.label,
        data: set.data,
        backgroundColor: set.colour || colours[index % colours.length]
      };
    });
    var texts = spec.labels;
    var chart = new Chart(canvas, {
      type: "bar",
      data: { labels: texts.map(function (t) { return [t]; }), datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        indexAxis: "y",
        onResize: function (resized, size) {
          if (resized.$labelledWidth && Math.abs(resized.$labelledWidth - size.width) > 1) {
            window.requestAnimationFrame(function () {
              fit(resized, texts, font, box, baseHeight);
            });
          }
        },
        plugins: {
          legend: { position: "bottom", labels: { font: { size: font.size } } },
          tooltip: {
            titleFont: { size: font.size },
            bodyFont: { size: font.size },
            callbacks: {
              title: function (items) { return items.length ? texts[items[0].dataIndex] : ""; }
            }
          }
        },
        scales: {
          x: { stacked: true, beginAtZero: true, ticks: { font: { size: font.size }, precision: 0 } },
          y: {
            stacked: true,
            ticks: {
              autoSkip: false,
              font: { size: font.size, family: font.family, lineHeight: LINE_HEIGHT },
              color: window.getComputedStyle(document.body).color
            }
          }
        }
      }
    });
    canvas.chart = chart;
    fit(chart, texts, font, box, baseHeight);
    canvas.setAttribute("data-ready", String(datasets.length));
  });
})();
