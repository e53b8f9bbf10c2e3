/* The theme team's view: incoming ideas, grouping them into themes, each theme's ideas (add one,
   take one out, by keyboard), rename, merge with a confirmation and an undo, publish. A theme
   whose name repeats an agenda item linked to the session carries a warning. */
(function () {
  "use strict";
  var R = window.Roundtable;
  var ideas = {};
  var themes = {};
  var live;
  var lastMerge = null;
  var dialog = document.getElementById("rt-merge-dialog");
  var pendingMerge = null;

  function say(text) {
    document.getElementById("rt-theme-status").textContent = text;
  }

  function ideaText(idea) {
    return idea.body + " (" + R.fmt(live.labels.from_table, { n: idea.table_number }) + ")";
  }

  function sortedIds(map) {
    return Object.keys(map).map(Number).sort(function (a, b) { return a - b; });
  }

  function renderIdeas() {
    var list = document.getElementById("rt-incoming");
    var checked = {};
    list.querySelectorAll("input:checked").forEach(function (i) { checked[i.value] = true; });
    list.textContent = "";
    sortedIds(ideas).forEach(function (id) {
      var idea = ideas[id];
      if (idea.theme_id) return;
      var item = R.el("li", {});
      var box = R.el("input", { type: "checkbox", id: "idea-" + id, value: id });
      if (checked[id]) box.checked = true;
      item.appendChild(box);
      item.appendChild(R.el("label", { for: "idea-" + id }, ideaText(idea)));
      list.appendChild(item);
    });
    document.getElementById("rt-incoming-empty").hidden = list.children.length > 0;
  }

  /* A small form: a select with an empty first choice (nothing preselected) and a button. */
  function pickForm(id, label, placeholder, choices, button, onPick) {
    var form = R.el("form", { class: "inline-form" });
    var select = R.el("select", { id: id, required: "required" });
    select.appendChild(R.el("option", { value: "" }, placeholder));
    choices.forEach(function (c) { select.appendChild(R.el("option", { value: c.value }, c.text)); });
    form.appendChild(R.el("label", { for: id, class: "visually-hidden" }, label));
    form.appendChild(select);
    form.appendChild(R.el("button", { type: "submit", class: "button-small" }, button));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (select.value) onPick(Number(select.value), form);
    });
    return form;
  }

  function renderTheme(id, ids) {
    var labels = live.labels;
    var theme = themes[id];
    var item = R.el("li", { class: "rt-theme", id: "theme-" + id });
    item.appendChild(R.el("h3", { id: "theme-name-" + id }, theme.name));
    if (theme.similar_item) {
      item.appendChild(R.el("p", { class: "rt-warning" }, R.fmt(labels.similar_item, { title: theme.similar_item.title })));
    }
    var members = theme.idea_ids.filter(function (i) { return ideas[i]; });
    if (!members.length) item.appendChild(R.el("p", { class: "hint" }, labels.theme_no_ideas));
    else {
      var list = R.el("ul", { class: "rt-theme-ideas", "aria-label": labels.theme_ideas + ": " + theme.name });
      members.forEach(function (ideaId) {
        var li = R.el("li", {});
        li.appendChild(R.el("span", {}, ideaText(ideas[ideaId]) + " "));
        var out = R.el("button", { type: "button", class: "button-small button-secondary" }, labels.take_out);
        out.appendChild(R.el("span", { class: "visually-hidden" }, " " + R.fmt(labels.take_out_of, { idea: ideas[ideaId].body, name: theme.name })));
        out.addEventListener("click", function () {
          live.send("theme_idea_remove", { theme_id: id, idea_id: ideaId }, function (ack) {
            if (!ack.ok) return;
            applyTheme(ack.theme);
            say(R.fmt(labels.idea_removed, { name: theme.name }));
            var heading = document.getElementById("theme-name-" + id);
            if (heading) { heading.tabIndex = -1; heading.focus(); }
          });
        });
        li.appendChild(out);
        list.appendChild(li);
      });
      item.appendChild(list);
    }
    /* Any submitted idea not in this theme may join it (one in another theme moves over). */
    var candidates = sortedIds(ideas).filter(function (i) { return ideas[i].theme_id !== id; }).map(function (i) {
      return { value: i, text: ideaText(ideas[i]) };
    });
    if (candidates.length) {
      item.appendChild(pickForm("add-" + id, R.fmt(labels.add_idea_to, { name: theme.name }), labels.choose_idea, candidates, labels.add, function (ideaId) {
        live.send("theme_idea_add", { theme_id: id, idea_id: ideaId }, function (ack) {
          if (!ack.ok) return;
          ack.themes.forEach(applyTheme);
          say(R.fmt(labels.idea_added, { name: theme.name }));
          var select = document.getElementById("add-" + id);
          if (select) select.focus();
        });
      }));
    }
    var rename = R.el("form", { class: "inline-form" });
    var input = R.el("input", { id: "rename-" + id, value: theme.name, maxlength: "200" });
    rename.appendChild(R.el("label", { for: "rename-" + id, class: "visually-hidden" }, labels.rename + ": " + theme.name));
    rename.appendChild(input);
    rename.appendChild(R.el("button", { type: "submit", class: "button-small" }, labels.rename));
    rename.addEventListener("submit", function (event) {
      event.preventDefault();
      live.send("theme_update", { theme_id: id, name: input.value }, function (ack) { if (ack.ok) applyTheme(ack.theme); });
    });
    item.appendChild(rename);
    var others = ids.filter(function (o) { return o !== id; }).map(function (o) { return { value: o, text: themes[o].name }; });
    if (others.length) {
      item.appendChild(pickForm("merge-" + id, labels.merge_into + " " + theme.name, labels.choose_theme, others, labels.merge_into, function (into, form) {
        askMerge(id, into, form.querySelector("button"));
      }));
    }
    return item;
  }

  function renderThemes() {
    var list = document.getElementById("rt-theme-list");
    var focused = document.activeElement && document.activeElement.id;
    list.textContent = "";
    var ids = sortedIds(themes);
    ids.forEach(function (id) { list.appendChild(renderTheme(id, ids)); });
    document.getElementById("rt-themes-empty").hidden = ids.length > 0;
    /* Re-rendering replaces the controls: keep the keyboard where it was. */
    if (focused && document.getElementById(focused) && document.activeElement === document.body) document.getElementById(focused).focus();
  }

  /* Merging is irreversible on the server, so it asks first (a modal dialog: Escape cancels). */
  function askMerge(id, into, returnTo) {
    pendingMerge = { id: id, into: into, returnTo: returnTo };
    document.getElementById("rt-merge-text").textContent = R.fmt(live.labels.merge_confirm, { a: themes[id].name, b: themes[into].name });
    dialog.showModal();
    document.getElementById("rt-merge-no").focus();
  }
  document.getElementById("rt-merge-no").addEventListener("click", function () { dialog.close(); });
  dialog.addEventListener("close", function () {
    if (pendingMerge && pendingMerge.returnTo && document.body.contains(pendingMerge.returnTo)) pendingMerge.returnTo.focus();
    pendingMerge = null;
  });
  document.getElementById("rt-merge-yes").addEventListener("click", function () {
    var merge = pendingMerge;
    if (!merge) return;
    var names = { a: themes[merge.id].name, b: themes[merge.into].name };
    live.send("theme_merge", { theme_id: merge.id, into_id: merge.into }, function (ack) {
      if (!ack.ok) return;
      delete themes[merge.id];
      applyTheme(ack.theme);
      lastMerge = { theme_id: ack.theme.merged.theme_id, idea_ids: ack.theme.merged.idea_ids, name: names.a };
      say(R.fmt(live.labels.merged, names));
      var undo = document.getElementById("rt-undo");
      undo.hidden = false;
      undo.focus();
    });
    pendingMerge = null;
    dialog.close();
  });
  document.getElementById("rt-undo").addEventListener("click", function () {
    var undo = this;
    if (!lastMerge) return;
    var merge = lastMerge;
    live.send("theme_unmerge", { theme_id: merge.theme_id, idea_ids: merge.idea_ids }, function (ack) {
      if (!ack.ok) return;
      ack.themes.forEach(applyTheme);
      lastMerge = null;
      undo.hidden = true;
      say(R.fmt(live.labels.unmerged, { a: merge.name }));
      var heading = document.getElementById("theme-name-" + merge.theme_id);
      if (heading) { heading.tabIndex = -1; heading.focus(); }
    });
  });

  function applyTheme(theme) {
    /* The staff event carries no warning; keep the one the last full payload had. */
    if (theme.similar_item === undefined && themes[theme.id] && themes[theme.id].name === theme.name) {
      theme.similar_item = themes[theme.id].similar_item;
    }
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
        renderThemes();
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
