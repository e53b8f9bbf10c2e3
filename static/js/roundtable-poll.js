/* Renders a room poll as a keyboard-friendly form (radio buttons) and its live tally. */
(function () {
  "use strict";
  var R = window.Roundtable;

  function tallyText(poll, tally, option, labels) {
    var count = tally && tally.counts ? tally.counts[String(option.id)] : 0;
    if (poll.kind === "agree" && count) {
      return ["agree", "disagree", "pass"].map(function (s) { return labels.stances[s] + " " + count[s]; }).join(" · ");
    }
    return (count || 0) + " " + labels.votes;
  }

  /* container: where the form goes; live: the Live object; onVoted(ack) optional. */
  function PollView(container, live, statusNode) {
    this.container = container;
    this.live = live;
    this.status = statusNode;
    this.poll = null;
    this.myVote = null;
  }
  PollView.prototype.show = function (poll, tally, myVote) {
    var labels = this.live.labels;
    this.poll = poll;
    this.myVote = myVote || null;
    this.container.textContent = "";
    if (!poll) { this.container.appendChild(R.el("p", {}, labels.no_poll)); return; }
    var open = poll.state === "open";
    var form = R.el("form", { id: "rt-poll-form", class: "stack" });
    var fieldsets = poll.kind === "agree" ? poll.options : [null];
    var self = this;
    fieldsets.forEach(function (theme) {
      var fs = R.el("fieldset", {});
      fs.appendChild(R.el("legend", {}, theme ? theme.label : poll.question));
      var choices = theme ? ["agree", "disagree", "pass"] : poll.options;
      choices.forEach(function (choice) {
        var value = theme ? choice : String(choice.id);
        var id = "rt-opt-" + (theme ? theme.id + "-" : "") + value;
        var input = R.el("input", { type: "radio", id: id, value: value, name: theme ? "stance-" + theme.id : "option" });
        if (!open || !self.status) input.disabled = true;
        if (self.myVote) {
          if (!theme && self.myVote.option_id === choice.id) input.checked = true;
          if (theme && self.myVote.stances && self.myVote.stances[String(theme.id)] === choice) input.checked = true;
        }
        var label = R.el("label", { for: id }, theme ? labels.stances[choice] : choice.label);
        var row = R.el("div", { class: "rt-choice" });
        row.appendChild(input);
        row.appendChild(label);
        if (!theme) row.appendChild(R.el("span", { class: "rt-count", "data-option": choice.id }, tallyText(poll, tally, choice, labels)));
        fs.appendChild(row);
      });
      if (theme) fs.appendChild(R.el("p", { class: "rt-count", "data-option": theme.id }, tallyText(poll, tally, theme, labels)));
      form.appendChild(fs);
    });
    if (poll.kind === "agree") form.insertBefore(R.el("p", { class: "rt-question" }, poll.question), form.firstChild);
    if (open && this.status) {
      var button = R.el("button", { type: "submit" }, this.myVote ? labels.change : labels.vote);
      form.appendChild(button);
      form.addEventListener("submit", function (event) { event.preventDefault(); self.vote(form); });
    }
    this.container.appendChild(form);
    this.total = R.el("p", { class: "rt-total" }, (tally ? tally.total : 0) + " " + labels.votes);
    this.container.appendChild(this.total);
  };
  PollView.prototype.vote = function (form) {
    var poll = this.poll;
    var self = this;
    var data = { poll_id: poll.id, client_id: R.cid(), change: !!this.myVote };
    if (poll.kind === "agree") {
      data.stances = {};
      poll.options.forEach(function (o) {
        var checked = form.querySelector("input[name='stance-" + o.id + "']:checked");
        if (checked) data.stances[String(o.id)] = checked.value;
      });
    } else {
      var checked = form.querySelector("input[name='option']:checked");
      if (!checked) return;
      data.option_id = Number(checked.value);
    }
    this.live.send("poll_vote", data, function (ack) {
      if (!ack.ok) return;
      self.status.textContent = data.change ? self.live.labels.vote_changed : self.live.labels.your_vote;
      self.myVote = { option_id: data.option_id, stances: Object.assign({}, (self.myVote || {}).stances, data.stances) };
      var button = form.querySelector("button[type=submit]");
      if (button) button.textContent = self.live.labels.change;
    });
  };
  PollView.prototype.updateTally = function (tally) {
    if (!this.poll || tally.poll_id !== this.poll.id) return;
    var poll = this.poll;
    var labels = this.live.labels;
    this.container.querySelectorAll(".rt-count").forEach(function (node) {
      var option = { id: Number(node.dataset.option) };
      node.textContent = tallyText(poll, tally, option, labels);
    });
    if (this.total) this.total.textContent = tally.total + " " + labels.votes;
  };

  window.Roundtable.PollView = PollView;
})();
