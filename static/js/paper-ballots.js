// The paper-ballot form has two submit buttons: Search (first) and Enter the paper ballot.
// A browser sends Enter pressed in any field with the first one, so a slip number typed and
// confirmed with Enter would only search. Enter in the search box still searches; anywhere else
// it enters the ballot. Without this script Enter searches, which keeps everything typed.
(function () {
  "use strict";
  var form = document.querySelector("form.paper-form");
  if (!form) { return; }
  form.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "Enter" || target.tagName !== "INPUT" || target.id === "voter_query") {
      return;
    }
    event.preventDefault();
    form.querySelector("button[name=action][value=enter]").click();
  });
})();
