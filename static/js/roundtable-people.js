/* The people page: one box ticks (or unticks) everyone listed on this page. */
(function () {
  "use strict";
  var all = document.getElementById("pick-all");
  if (!all) return;
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[name=participant_ids]"));
  all.hidden = false;
  all.parentNode.hidden = false;
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
  boxes.forEach(function (box) {
    box.addEventListener("change", function () {
      all.checked = boxes.every(function (b) { return b.checked; });
    });
  });
})();
