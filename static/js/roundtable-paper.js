/* The table facilitator's paper participants (hybrid roundtables): register a person without a
   phone, list them, and for each one record an idea or enter their vote from a paper slip for
   the open poll. Shares the room's socket (window.Roundtable.room); nothing typed is lost: a
   refused entry keeps its text, and a list refresh keeps open forms and their drafts. */
(function () {
  "use strict";
  var R = window.Roundtable;
  var box = document.getElementById("rt-paper");
  if (!box || !R || !R.room) return;
  var room = R.room;
  var L = JSON.parse(box.dataset.labels);
  var list = document.getElementById("rt-paper-list");
  var form = document.getElementById("rt-paper-form");
  var statusNode = document.getElementById("rt-paper-status");
  var errorNode = document.getElementById("rt-paper-error");
  var people = [];
  var poll = null;
  /* drafts[person id] = { open: "idea" | "vote" | null, idea, slip, option, stances } */
  var drafts = {};

  function say(text) { statusNode.textContent = text; errorNode.textContent = ""; }
  function refuse(ack) { errorNode.textContent = ack && ack.message ? ack.message : ""; statusNode.textContent = ""; }
  function draft(id) { return drafts[id] || (drafts[id] = { open: null, idea: "", slip: "", option: null, stances: {} }); }
  /* Field-office staff choose a hall table; a table facilitator enters for their own. */
  var picker = document.getElementById("rt-paper-table");
  function facilitating() { var seat = room.seat(); return !!(seat && seat.role === "table_facilitator" && seat.table_id); }
  function tableId() {
    if (facilitating()) return room.seat().table_id;
    return picker && picker.value ? Number(picker.value) : null;
  }
  function tableNumber() {
    if (facilitating()) return room.seat().table_number;
    var chosen = picker ? picker.options[picker.selectedIndex] : null;
    return chosen ? Number(chosen.dataset.number) : null;
  }
  function tableCode() {
    var n = tableNumber() || 1;
    return "T" + String(n).padStart(2, "0") + "-013";
  }

  /* Shown to the table's facilitator and field-office staff; the server checks every entry. */
  function refresh() {
    var mine = facilitating() || (box.dataset.fieldOffice === "1" && !!tableId());
    box.hidden = !mine || room.closed();
    if (box.hidden) return;
    room.live().send("paper_list", { table_id: tableId() }, function (ack) {
      if (!ack.ok) return;
      people = ack.people;
      render();
    });
  }

  function ideaForm(person, d) {
    var id = "rt-paper-idea-" + person.id;
    var wrap = R.el("form", { class: "stack rt-paper-entry" });
    wrap.appendChild(R.el("label", { for: id }, R.fmt(L.idea_of, { name: who(person) })));
    var input = R.el("input", { id: id, maxlength: "300", autocomplete: "off" });
    input.value = d.idea;
    input.addEventListener("input", function () { d.idea = input.value; });
    wrap.appendChild(input);
    var row = R.el("div", { class: "rt-paper-actions" });
    row.appendChild(R.el("button", { type: "submit" }, L.save_idea));
    var cancel = R.el("button", { type: "button", class: "button-secondary" }, L.cancel);
    cancel.addEventListener("click", function () { d.open = null; render(); focusToggle(person.id, "idea"); });
    row.appendChild(cancel);
    wrap.appendChild(row);
    wrap.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!d.clientId) d.clientId = R.cid();
      room.live().send("paper_idea", { participant_id: person.id, text: input.value, client_id: d.clientId }, function (ack) {
        if (!ack.ok) { refuse(ack); input.focus(); return; }
        d.idea = ""; d.clientId = null; d.open = null;
        say(R.fmt(L.idea_saved, { name: person.name }));
        refresh();
      });
    });
    return wrap;
  }

  function voteForm(person, d) {
    var wrap = R.el("form", { class: "stack rt-paper-entry" });
    var fieldset = R.el("fieldset", {});
    fieldset.appendChild(R.el("legend", {}, R.fmt(L.vote_of, { name: who(person), q: poll.question })));
    poll.options.forEach(function (option) {
      if (poll.kind === "agree") {
        var sid = "rt-paper-stance-" + person.id + "-" + option.id;
        fieldset.appendChild(R.el("label", { for: sid }, option.label));
        var select = R.el("select", { id: sid });
        select.appendChild(R.el("option", { value: "" }, "—"));
        ["agree", "disagree", "pass"].forEach(function (s) {
          var opt = R.el("option", { value: s }, L.stances[s]);
          if (d.stances[option.id] === s) opt.selected = true;
          select.appendChild(opt);
        });
        select.addEventListener("change", function () { d.stances[option.id] = select.value; });
        fieldset.appendChild(select);
        return;
      }
      var rid = "rt-paper-option-" + person.id + "-" + option.id;
      var line = R.el("div", { class: "rt-paper-choice" });
      var radio = R.el("input", { type: "radio", id: rid, name: "paper-option-" + person.id, value: String(option.id) });
      radio.checked = d.option === option.id;
      radio.addEventListener("change", function () { d.option = option.id; });
      line.appendChild(radio);
      line.appendChild(R.el("label", { for: rid }, option.label));
      fieldset.appendChild(line);
    });
    var slipId = "rt-paper-slip-" + person.id;
    fieldset.appendChild(R.el("label", { for: slipId }, R.fmt(L.slip, { example: tableCode() })));
    var slip = R.el("input", { id: slipId, maxlength: "20", autocomplete: "off", inputmode: "text", autocapitalize: "characters" });
    slip.value = d.slip;
    slip.addEventListener("input", function () { d.slip = slip.value; });
    fieldset.appendChild(slip);
    wrap.appendChild(fieldset);
    var row = R.el("div", { class: "rt-paper-actions" });
    row.appendChild(R.el("button", { type: "submit" }, L.save_vote));
    var cancel = R.el("button", { type: "button", class: "button-secondary" }, L.cancel);
    cancel.addEventListener("click", function () { d.open = null; render(); focusToggle(person.id, "vote"); });
    row.appendChild(cancel);
    wrap.appendChild(row);
    wrap.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = { participant_id: person.id, poll_id: poll.id, slip_no: slip.value };
      if (poll.kind === "agree") {
        var stances = {};
        Object.keys(d.stances).forEach(function (k) { if (d.stances[k]) stances[k] = d.stances[k]; });
        data.stances = stances;
      } else {
        if (!d.option) { refuse({ message: L.choose }); return; }
        data.option_id = d.option;
      }
      if (!d.clientId) d.clientId = R.cid();
      data.client_id = d.clientId;
      room.live().send("paper_vote", data, function (ack) {
        if (!ack.ok) { refuse(ack); d.clientId = null; slip.focus(); return; }
        drafts[person.id] = null;
        say(R.fmt(L.vote_saved, { name: person.name, slip: ack.vote.slip_no }));
        refresh();
      });
    });
    return wrap;
  }

  /* A person as their buttons and fields name them: two of the same name at the table are
     told apart by their number on the list ("Kim Sun-ja, no. 2"). */
  function who(person) {
    var index = people.indexOf(person);
    var namesakes = people.filter(function (p) { return p.name.toLowerCase() === person.name.toLowerCase(); });
    return namesakes.length > 1 ? R.fmt(L.name_no, { name: person.name, n: index + 1 }) : person.name;
  }

  function focusToggle(id, which) {
    var node = document.getElementById("rt-paper-" + which + "-toggle-" + id);
    if (node) node.focus();
  }

  function render() {
    var focused = document.activeElement && list.contains(document.activeElement) ? document.activeElement.id : null;
    list.textContent = "";
    document.getElementById("rt-paper-count").textContent = R.fmt(L.count, { n: people.length });
    if (!people.length) list.appendChild(R.el("li", { class: "hint" }, L.none));
    people.forEach(function (person, index) {
      var d = draft(person.id);
      var item = R.el("li", { class: "rt-paper-person" });
      /* Numbered: two people of the same name stay apart. */
      item.appendChild(R.el("span", { class: "rt-paper-no" }, (index + 1) + ". "));
      item.appendChild(R.el("strong", {}, person.name));
      var facts = [person.category_label];
      if (person.division) facts.push(person.division);
      item.appendChild(R.el("span", { class: "hint" }, " · " + facts.join(" · ")));
      var state = R.el("p", { class: "rt-paper-state" });
      state.appendChild(R.el("span", {}, R.fmt(L.ideas_n, { n: person.ideas })));
      state.appendChild(document.createTextNode(" · "));
      state.appendChild(R.el("span", { class: "rt-paper-vote" },
        !poll ? L.no_poll : person.voted ? R.fmt(L.voted, { slip: person.slip_no }) : L.not_voted));
      item.appendChild(state);
      var row = R.el("div", { class: "rt-paper-actions" });
      var ideaButton = R.el("button", { type: "button", class: "button-small button-secondary", id: "rt-paper-idea-toggle-" + person.id, "aria-expanded": String(d.open === "idea") }, L.record_idea);
      ideaButton.setAttribute("aria-label", L.record_idea + ": " + who(person));
      ideaButton.addEventListener("click", function () { d.open = d.open === "idea" ? null : "idea"; render(); var n = document.getElementById("rt-paper-idea-" + person.id); if (n) n.focus(); });
      row.appendChild(ideaButton);
      if (poll && !person.voted) {
        var voteButton = R.el("button", { type: "button", class: "button-small", id: "rt-paper-vote-toggle-" + person.id, "aria-expanded": String(d.open === "vote") }, L.enter_vote);
        voteButton.setAttribute("aria-label", L.enter_vote + ": " + who(person));
        voteButton.addEventListener("click", function () {
          d.open = d.open === "vote" ? null : "vote";
          render();
          var first = list.querySelector("#rt-paper-person-" + person.id + " input");
          if (first) first.focus();
        });
        row.appendChild(voteButton);
      }
      item.appendChild(row);
      item.id = "rt-paper-person-" + person.id;
      if (d.open === "idea") item.appendChild(ideaForm(person, d));
      if (d.open === "vote" && poll && !person.voted) item.appendChild(voteForm(person, d));
      list.appendChild(item);
    });
    if (focused) { var again = document.getElementById(focused); if (again) again.focus(); }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var division = document.getElementById("rt-paper-division").value;
    var data = {
      table_id: tableId(),
      name: document.getElementById("rt-paper-name").value,
      member_category: document.getElementById("rt-paper-category").value,
      division_id: division ? Number(division) : null,
      member_email: document.getElementById("rt-paper-email").value || null
    };
    if (!form.dataset.clientId) form.dataset.clientId = R.cid();
    data.client_id = form.dataset.clientId;
    /* A name already at the table was held back: sent again unchanged, it is confirmed. */
    data.same_name_confirmed = form.dataset.sameName === data.name.trim().toLowerCase();
    room.live().send("paper_register", data, function (ack) {
      if (!ack.ok) {
        form.dataset.sameName = ack.error === "same_name_at_table" ? data.name.trim().toLowerCase() : "";
        refuse(ack);
        document.getElementById("rt-paper-name").focus();
        return;
      }
      form.dataset.sameName = "";
      form.dataset.clientId = "";
      document.getElementById("rt-paper-name").value = "";
      document.getElementById("rt-paper-email").value = "";
      say(R.fmt(L.registered, { name: ack.name }));
      document.getElementById("rt-paper-name").focus();
      refresh();
    });
  });

  /* Field-office staff: the lead made a table hall, mixed or online; the list follows (a
     table chosen here that went online is dropped, and the panel shows the next one). */
  function tableKindChanged(data) {
    var words = JSON.parse(picker.dataset.labels);
    var chosen = picker.value;
    var options = Array.prototype.filter.call(picker.options, function (o) { return o.value; });
    var existing = options.filter(function (o) { return Number(o.value) === data.table_id; })[0];
    if (existing) existing.remove();
    if (data.kind !== "online") {
      var option = R.el("option", { value: String(data.table_id), "data-number": String(data.number) },
        R.fmt(words.table, { n: data.number }) + " · " + (words.kinds[data.kind] || data.kind));
      var after = options.filter(function (o) { return o !== existing && Number(o.dataset.number) > data.number; })[0];
      picker.insertBefore(option, after || null);
    }
    var left = Array.prototype.filter.call(picker.options, function (o) { return o.value; });
    Array.prototype.forEach.call(picker.querySelectorAll("option[value='']"), function (o) { if (left.length) o.remove(); });
    if (!left.length && !picker.options.length) picker.appendChild(R.el("option", { value: "" }, words.none));
    picker.value = chosen && picker.querySelector("option[value='" + chosen + "']") ? chosen : (left.length ? left[0].value : "");
    if (picker.value !== chosen) { drafts = {}; refresh(); }
  }

  if (picker) {
    picker.addEventListener("change", function () { drafts = {}; refresh(); });
    room.on("table_kind_changed", tableKindChanged);
  }
  room.onSnapshot(function (snap) { poll = snap.poll && snap.poll.state === "open" ? snap.poll : null; refresh(); });
  room.on("paper_changed", refresh);
  room.on("poll_opened", function (p) { poll = p; refresh(); });
  room.on("poll_closed", function () { poll = null; refresh(); });
})();
