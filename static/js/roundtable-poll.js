/* Renders a room poll as a keyboard-friendly form (radio buttons) with its live tally, the time
   left to vote, its state (open, closed, final) and the voter's own "your vote is counted".
   People who may not vote (facilitators, theme team, the lead, anyone without a seat) see the
   tally and never a Vote button: the server would refuse them anyway. */
(function () {
  "use strict";
  var R = window.Roundtable;

  function percent(count, total) {
    return total ? Math.round((count / total) * 100) : 0;
  }

  /* One option's tally in words: "3 votes (60%)", or for agree polls each stance with its %. */
  function tallyText(poll, tally, option, labels) {
    var count = tally && tally.counts ? tally.counts[String(option.id)] : 0;
    if (poll.kind === "agree") {
      count = count || { agree: 0, disagree: 0, pass: 0 };
      var total = count.agree + count.disagree + count.pass;
      return ["agree", "disagree", "pass"].map(function (s) {
        return labels.stances[s] + " " + count[s] + " (" + percent(count[s], total) + "%)";
      }).join(" · ");
    }
    count = count || 0;
    return R.plural(labels.vote_count, count) + " (" + percent(count, tally ? tally.total : 0) + "%)";
  }

  /* Whether the tally says this option passes the session's threshold (when it says at all). */
  function passText(tally, option, labels) {
    if (!tally || !tally.passes || tally.passes[String(option.id)] === undefined) return "";
    return tally.passes[String(option.id)] ? labels.poll_passes : labels.poll_fails;
  }

  /* container: where the form goes; live: the Live object; statusNode: where "your vote is
     counted" goes (null on the console, which never votes). */
  function PollView(container, live, statusNode) {
    this.container = container;
    this.live = live;
    this.status = statusNode;
    this.poll = null;
    this.tally = null;
    this.myVote = null;
    this.seat = null;
    this.sending = false; /* a vote is on its way: the button waits for its answer */
    var self = this;
    window.setInterval(function () { self.renderTimer(); }, 500);
  }

  /* The viewer's seat (from the snapshot): only a seated participant may vote. */
  PollView.prototype.setSeat = function (seat) {
    this.seat = seat || null;
    if (this.poll) this.show(this.poll, this.tally, this.myVote);
  };
  PollView.prototype.mayVote = function () {
    return !!(this.status && this.seat && this.seat.votes && this.seat.table_id);
  };

  PollView.prototype.secondsLeft = function () {
    if (!this.poll || !this.poll.closes_at || this.poll.state !== "open") return null;
    var offset = this.live.countdown ? this.live.countdown.offset : 0;
    return Math.max(0, Math.round((Date.parse(this.poll.closes_at) - (Date.now() + offset)) / 1000));
  };
  PollView.prototype.renderTimer = function () {
    if (!this.timer || !this.poll) return;
    var labels = this.live.labels;
    var text;
    if (this.poll.state !== "open") text = labels.poll_final;
    else {
      var s = this.secondsLeft();
      if (s === null) text = labels.poll_open_untimed;
      else if (s === 0) text = labels.poll_time_up;
      else text = R.fmt(labels.poll_time_left, { t: Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0") });
    }
    if (this.timer.textContent !== text) this.timer.textContent = text;
  };

  PollView.prototype.show = function (poll, tally, myVote) {
    var labels = this.live.labels;
    this.poll = poll;
    this.tally = tally || null;
    this.myVote = myVote || null;
    this.container.textContent = "";
    this.timer = null;
    if (!poll) { this.container.appendChild(R.el("p", {}, labels.no_poll)); return; }
    var open = poll.state === "open";
    /* A voter keeps the radios after the close (disabled, their choice still checked). */
    var eligible = this.mayVote();
    var mayVote = open && eligible;
    this.container.dataset.state = poll.state;
    this.timer = R.el("p", { class: "rt-poll-state" + (open ? "" : " rt-poll-final") });
    this.container.appendChild(this.timer);
    this.renderTimer();
    if (this.status && !this.mayVote()) this.container.appendChild(R.el("p", { class: "hint rt-poll-watch" }, labels.poll_watch));
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
        var row = R.el("div", { class: "rt-choice" });
        var text = theme ? labels.stances[choice] : choice.label;
        if (eligible) {
          var input = R.el("input", { type: "radio", id: id, value: value, name: theme ? "stance-" + theme.id : "option" });
          if (!open) input.disabled = true;
          if (self.myVote) {
            if (!theme && self.myVote.option_id === choice.id) input.checked = true;
            if (theme && self.myVote.stances && self.myVote.stances[String(theme.id)] === choice) input.checked = true;
          }
          row.appendChild(input);
          row.appendChild(R.el("label", { for: id }, text));
        } else if (!theme) {
          row.appendChild(R.el("span", { class: "rt-choice-label" }, text));
        }
        if (!theme) {
          row.appendChild(R.el("span", { class: "rt-count", "data-option": choice.id }, tallyText(poll, tally, choice, labels)));
          row.appendChild(R.el("span", { class: "rt-pass", "data-pass": choice.id }, passText(tally, choice, labels)));
        }
        if (theme && !eligible) return;
        fs.appendChild(row);
      });
      if (theme) {
        fs.appendChild(R.el("p", { class: "rt-count", "data-option": theme.id }, tallyText(poll, tally, theme, labels)));
        fs.appendChild(R.el("p", { class: "rt-pass", "data-pass": theme.id }, passText(tally, theme, labels)));
      }
      form.appendChild(fs);
    });
    if (poll.kind === "agree") form.insertBefore(R.el("p", { class: "rt-question" }, poll.question), form.firstChild);
    if (mayVote) {
      var button = R.el("button", { type: "submit" }, this.myVote ? labels.change : labels.vote);
      button.disabled = this.sending;
      form.appendChild(button);
      form.addEventListener("submit", function (event) { event.preventDefault(); self.vote(form); });
    }
    this.container.appendChild(form);
    this.total = R.el("p", { class: "rt-total" }, R.plural(labels.vote_count, tally ? tally.total : 0));
    this.container.appendChild(this.total);
    if (tally && tally.threshold_percent !== undefined && tally.threshold_percent !== null) {
      this.container.appendChild(R.el("p", { class: "hint rt-threshold" }, R.fmt(tally.rule === "more_than" ? labels.poll_threshold_more_than : labels.poll_threshold, { p: tally.threshold_percent })));
    }
    if (this.status) {
      var counted = this.myVote && this.mayVote();
      this.status.textContent = counted ? (open ? labels.your_vote : labels.your_vote_final) : "";
    }
  };

  /* One vote at a time: a double click must not send a second, first-time vote (the server
     would answer "already voted" beside "your vote is counted"). The button comes back with the
     answer, whatever it is. */
  PollView.prototype.vote = function (form) {
    if (this.sending) return;
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
    this.setSending(true);
    this.live.send("poll_vote", data, function (ack) {
      self.setSending(false);
      if (!ack.ok) return;
      self.status.textContent = data.change ? self.live.labels.vote_changed : self.live.labels.your_vote;
      self.myVote = { option_id: data.option_id, stances: Object.assign({}, (self.myVote || {}).stances, data.stances) };
      var button = self.container.querySelector("button[type=submit]");
      if (button) button.textContent = self.live.labels.change;
    });
  };

  /* The vote button (of the form shown now: a snapshot may have drawn it again) waits; a
     keyboard user who pressed it gets the focus back with the answer. */
  PollView.prototype.setSending = function (sending) {
    this.sending = sending;
    var button = this.container.querySelector("button[type=submit]");
    if (!button) return;
    if (sending) this.buttonHadFocus = document.activeElement === button;
    button.disabled = sending;
    if (!sending && this.buttonHadFocus && document.activeElement === document.body) button.focus();
  };

  PollView.prototype.updateTally = function (tally) {
    if (!this.poll || tally.poll_id !== this.poll.id) return;
    var poll = this.poll;
    var labels = this.live.labels;
    this.tally = tally;
    this.container.querySelectorAll(".rt-count").forEach(function (node) {
      node.textContent = tallyText(poll, tally, { id: Number(node.dataset.option) }, labels);
    });
    this.container.querySelectorAll(".rt-pass").forEach(function (node) {
      node.textContent = passText(tally, { id: Number(node.dataset.pass) }, labels);
    });
    if (this.total) this.total.textContent = R.plural(labels.vote_count, tally.total);
  };

  /* The poll closed (by the lead or its timer): the final tally, no more voting. */
  PollView.prototype.close = function (data) {
    if (!this.poll || this.poll.id !== data.poll_id) return false;
    this.show(Object.assign({}, this.poll, { state: "closed" }), data.tally, this.myVote);
    return true;
  };

  window.Roundtable.PollView = PollView;
})();
