/* Shared by every roundtable page, on top of live.js (the socket, the sequence numbers and the
   catch-up): the phase line, the countdown, the connection status and the session's events.
   Pages pass their handlers; every text comes translated from the page's data-labels. */
(function () {
  "use strict";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /* How long a participant's page waits for its pushed seat before asking (up to twice this). */
  var SEAT_PUSH_WAIT_MS = 10000;

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, key) { return values[key]; });
  }

  /* The countdown shows the server's end time minus the server's clock (offset-corrected). */
  function Countdown(node, labels) {
    this.node = node;
    this.labels = labels;
    this.endsAt = null;
    this.remaining = null;
    this.paused = false;
    this.offset = 0;
    var self = this;
    window.setInterval(function () { self.render(); }, 500);
  }
  Countdown.prototype.update = function (state) {
    if (state.server_now) this.offset = Date.parse(state.server_now) - Date.now();
    this.endsAt = state.ends_at ? Date.parse(state.ends_at) : null;
    this.paused = !!state.paused;
    this.remaining = state.remaining_s;
    /* After the close there is no time to count: "no time limit" would read as still open. */
    if (state.state) this.closed = state.state === "closed";
    this.render();
  };
  Countdown.prototype.seconds = function () {
    if (this.paused) return this.remaining;
    if (this.endsAt === null) return null;
    return Math.max(0, Math.round((this.endsAt - (Date.now() + this.offset)) / 1000));
  };
  Countdown.prototype.render = function () {
    if (!this.node) return;
    if (this.closed) { this.node.textContent = ""; return; }
    var s = this.seconds();
    if (s === null || s === undefined) { this.node.textContent = this.labels.no_timer; return; }
    var text = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    this.node.textContent = this.paused ? text + " (" + this.labels.paused + ")" : text + " " + this.labels.left;
  };

  /* The session's live client (live.js) with the phase line, the countdown and the status. */
  function Live(options) {
    var root = document.getElementById("rt-app");
    var self = this;
    var projector = !!options.projectorToken;
    var on = Object.assign({}, options.on || {});
    this.root = root;
    this.sessionId = Number(root.dataset.sessionId);
    this.labels = JSON.parse(root.dataset.labels);
    this.options = options;
    this.countdown = new Countdown(document.getElementById("rt-countdown"), this.labels);
    on.phase = function (data) {
      self.showPhase(data);
      if (options.on && options.on.phase) options.on.phase(data);
    };
    this.projector = projector;
    this.staff = false; /* the last join said this page watches every table (lead, theme team) */
    this.pushedSeq = -1; /* the seq of the last seat the server pushed */
    this.seatTimer = null;
    on.seating = function (data) {
      if (options.on && options.on.seating) options.on.seating(data);
      self.awaitSeat(data);
    };
    /* The room was seated and the server sent this page its seat, shaped as a join's answer. */
    on.seat = function (ack) {
      window.clearTimeout(self.seatTimer);
      self.seatTimer = null;
      self.pushedSeq = ack.snapshot.seq;
      self.client.applySnapshot(ack);
    };
    on.seat_changed = function (data) {
      if (options.on && options.on.seat_changed) options.on.seat_changed(data);
      self.join();
    };
    this.client = window.MadangLive.connect({
      namespace: root.dataset.namespace,
      auth: projector ? { projector: options.projectorToken } : undefined,
      join: function () {
        return projector ? ["projector_snapshot", {}] : ["join", { session_id: self.sessionId }];
      },
      snapshot: projector ? null : function () { return ["snapshot", { session_id: self.sessionId }]; },
      snapshotSeq: function (ack) { return ack.snapshot.seq; },
      onSnapshot: function (ack) {
        if ("staff" in ack) self.staff = !!ack.staff;
        self.apply(ack.snapshot);
      },
      on: on,
      onState: function (state, ack) {
        if (state === "live") self.status(self.labels.connected);
        else if (state === "offline") self.status(self.labels.reconnecting);
        else if (state === "refused" && !projector) self.status(ack ? ack.message : "");
      },
      /* Not saved (the database was away) and sent again soon: say so until it is answered. */
      onRetry: function (ack) {
        var box = document.getElementById("rt-error");
        if (box && ack.message) box.textContent = ack.message;
      }
    });
  }
  Live.prototype.status = function (text) {
    var node = document.getElementById("rt-connection");
    if (node) node.textContent = text;
  };
  Live.prototype.join = function () {
    this.client.join();
  };
  /* After the room is seated, the server pushes each participant's seat (`seat`): ten
   * thousand pages asking at once took the servers 41 s. Staff and projectors ask at once, as
   * they are few; a participant asks only if no push came, at a random moment. */
  Live.prototype.awaitSeat = function (data) {
    var self = this;
    if (this.projector || this.staff) { this.join(); return; }
    if (data && typeof data.seq === "number" && data.seq <= this.pushedSeq) return; /* it came first */
    window.clearTimeout(this.seatTimer);
    this.seatTimer = window.setTimeout(function () {
      self.seatTimer = null;
      self.join();
    }, SEAT_PUSH_WAIT_MS * (1 + Math.random()));
  };
  Live.prototype.apply = function (snap) {
    this.showPhase(snap);
    if (this.options.onSnapshot) this.options.onSnapshot(snap);
  };
  Live.prototype.showPhase = function (state) {
    var label = state.phase ? this.labels.phases[state.phase] : this.labels.states[state.state];
    var node = document.getElementById("rt-phase");
    if (node && node.textContent !== label) node.textContent = label;
    this.root.dataset.phase = state.phase || state.state;
    this.countdown.update(state);
  };
  /* Emit with the session id; resolve with the ack; show a refusal in the page's alert box
     and, when given, in `formError` (a [data-form-error] node beside the form that sent it).
     An answer that worked empties them all. */
  Live.prototype.send = function (event, data, done, formError) {
    var payload = Object.assign({ session_id: this.sessionId }, data || {});
    this.client.request(event, payload, function (ack) {
      var refused = ack && !ack.ok;
      var box = document.getElementById("rt-error");
      if (box) box.textContent = refused ? ack.message : "";
      if (!refused) {
        document.querySelectorAll("[data-form-error]").forEach(function (node) { node.textContent = ""; });
      } else if (formError) {
        formError.textContent = ack.message;
      }
      if (done) done(ack || {});
    });
  };

  window.Roundtable = { Live: Live, cid: window.MadangLive.clientId, el: el, fmt: fmt, plural: window.MadangLive.plural };
})();
