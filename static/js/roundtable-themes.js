/* The theme team's view: incoming ideas, grouping them into themes, rename, merge, publish. */
(function () {
  "use strict";
  var R = window.Roundtable;
  var ideas = {};
  var themes = {};
  var live;

  function renderIdeas() {
    var list = document.getElementById("rt-incoming");
    var checked = {};
    list.querySelectorAll("input:checked").forEach(function (i) { checked[i.value] = true; });
    list.textContent = "";
    Object.keys(ideas).map(Number).sort(function (a, b) { return a - b; }).forEach(function (id) {
      var idea = ideas[id];
      if (idea.theme_id) return;
      var item = R.el("li", {});
      var box = R.el("input", { type: "checkbox", id: "idea-" + id, value: id });
      if (checked[id]) box.checked = true;
      item.appendChild(box);
      item.appendChild(R.el("label", { for: "idea-" + id }, idea.body + " (" + live.labels.table + " " + idea.table_number + ")"));
      list.appendChild(item);
    });
  }

  function renderThemes() {
    var list = document.getElementById("rt-theme-list");
    list.textContent = "";
    var ids = Object.keys(themes).map(Number).sort(function (a, b) { return a - b; });
    ids.forEach(function (id) {
      var theme = themes[id];
      var item = R.el("li", { class: "rt-theme" });
      item.appendChild(R.el("h3", {}, theme.name));
      item.appendChild(R.el("p", { class: "hint" }, live.labels.table + " " + theme.tables.join(", ") + " · " + theme.idea_ids.length + " " + live.labels.ideas.toLowerCase()));
      var rename = R.el("form", { class: "inline-form" });
      var input = R.el("input", { id: "rename-" + id, value: theme.name, maxlength: "200" });
      rename.appendChild(R.el("label", { for: "rename-" + id, class: "visually-hidden" }, live.labels.rename + ": " + theme.name));
      rename.appendChild(input);
      rename.appendChild(R.el("button", { type: "submit", class: "button-small" }, live.labels.rename));
      rename.addEventListener("submit", function (event) {
        event.preventDefault();
        live.send("theme_update", { theme_id: id, name: input.value });
      });
      item.appendChild(rename);
      var others = ids.filter(function (o) { return o !== id; });
      if (others.length) {
        var merge = R.el("form", { class: "inline-form" });
        var select = R.el("select", { id: "merge-" + id });
        others.forEach(function (o) { select.appendChild(R.el("option", { value: o }, themes[o].name)); });
        merge.appendChild(R.el("label", { for: "merge-" + id, class: "visually-hidden" }, live.labels.merge_into + " " + theme.name));
        merge.appendChild(select);
        merge.appendChild(R.el("button", { type: "submit", class: "button-small" }, live.labels.merge_into));
        merge.addEventListener("submit", function (event) {
          event.preventDefault();
          live.send("theme_merge", { theme_id: id, into_id: Number(select.value) });
        });
        item.appendChild(merge);
      }
      list.appendChild(item);
    });
  }

  function applyTheme(theme) {
    themes[theme.id] = theme;
    Object.keys(ideas).forEach(function (i) {
      if (ideas[i].theme_id === theme.id && theme.idea_ids.indexOf(Number(i)) === -1) ideas[i].theme_id = null;
    });
    theme.idea_ids.forEach(function (i) { if (ideas[i]) ideas[i].theme_id = theme.id; });
    renderIdeas();
    renderThemes();
  }

  live = new R.Live({
    onSnapshot: function (snap) {
      var consoleData = snap.console || { submitted_ideas: [], themes: [] };
      ideas = {};
      themes = {};
      consoleData.submitted_ideas.forEach(function (i) { ideas[i.id] = i; });
      consoleData.themes.forEach(function (t) { themes[t.id] = t; });
      renderIdeas();
      renderThemes();
    },
    on: {
      ideas_submitted: function (data) {
        data.ideas.forEach(function (i) { ideas[i.id] = i; });
        renderIdeas();
      },
      theme: applyTheme,
      theme_merged: function (data) {
        delete themes[data.theme_id];
        applyTheme(data.into);
      },
      themes: function () {
        document.getElementById("rt-publish-status").textContent = live.labels.themes_published;
      }
    }
  });

  document.getElementById("rt-theme-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var chosen = [];
    document.querySelectorAll("#rt-incoming input:checked").forEach(function (i) { chosen.push(Number(i.value)); });
    var name = document.getElementById("rt-theme-name");
    var description = document.getElementById("rt-theme-description");
    live.send("theme_create", { name: name.value, description: description.value, idea_ids: chosen }, function (ack) {
      if (ack.ok) { name.value = ""; description.value = ""; applyTheme(ack.theme); }
    });
  });
  document.getElementById("rt-publish").addEventListener("click", function () {
    live.send("themes_publish", {});
  });
})();
