/* Shared by every roundtable page: the socket, the sequence-checked snapshot, the countdown.
   Pages pass their handlers; every text comes translated from the page's data-labels. */
(function () {
  "use strict";

  function cid() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID().replace(/-/g, "");
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

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
    this.render();
  };
  Countdown.prototype.seconds = function () {
    if (this.paused) return this.remaining;
    if (this.endsAt === null) return null;
    return Math.max(0, Math.round((this.endsAt - (Date.now() + this.offset)) / 1000));
  };
  Countdown.prototype.render = function () {
    if (!this.node) return;
    var s = this.seconds();
    if (s === null || s === undefined) { this.node.textContent = this.labels.no_timer; return; }
    var text = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
    this.node.textContent = this.paused ? text + " (" + this.labels.paused + ")" : text + " " + this.labels.left;
  };

  /* Connects, joins the session, keeps the sequence number and asks for a snapshot on a gap. */
  function Live(options) {
    var root = document.getElementById("rt-app");
    this.root = root;
    this.sessionId = Number(root.dataset.sessionId);
    this.labels = JSON.parse(root.dataset.labels);
    this.seq = 0;
    this.options = options;
    this.countdown = new Countdown(document.getElementById("rt-countdown"), this.labels);
    var self = this;
    var auth = options.projectorToken ? { projector: options.projectorToken } : undefined;
    this.socket = window.io(root.dataset.namespace, { transports: ["websocket"], auth: auth });
    this.socket.on("connect", function () { self.status(self.labels.connected); self.join(); });
    this.socket.on("disconnect", function () { self.status(self.labels.reconnecting); });
    this.socket.on("connect_error", function () { self.status(self.labels.reconnecting); });
    ["phase", "themes", "poll_opened", "poll_closed", "seating"].forEach(function (name) {
      self.socket.on(name, function (data) {
        if (data && data.seq && data.seq > self.seq + 1 && self.seq > 0) { self.snapshot(); return; }
        if (data && data.seq) self.seq = Math.max(self.seq, data.seq);
        if (name === "phase") self.showPhase(data);
        if (options.on && options.on[name]) options.on[name](data);
      });
    });
    Object.keys(options.on || {}).forEach(function (name) {
      if (["phase", "themes", "poll_opened", "poll_closed", "seating"].indexOf(name) === -1) {
        self.socket.on(name, options.on[name]);
      }
    });
    this.socket.on("seat_changed", function () { self.join(); });
    this.socket.on("seating", function () { self.join(); });
  }
  Live.prototype.status = function (text) {
    var node = document.getElementById("rt-connection");
    if (node) node.textContent = text;
  };
  Live.prototype.join = function () {
    var self = this;
    if (this.options.projectorToken) {
      this.socket.emit("projector_snapshot", {}, function (ack) { if (ack && ack.ok) self.apply(ack.snapshot); });
      return;
    }
    this.socket.emit("join", { session_id: this.sessionId }, function (ack) {
      if (!ack || !ack.ok) { self.status(ack ? ack.message : ""); return; }
      self.apply(ack.snapshot);
    });
  };
  Live.prototype.snapshot = function () {
    var self = this;
    if (this.options.projectorToken) { this.join(); return; }
    this.socket.emit("snapshot", { session_id: this.sessionId }, function (ack) {
      if (ack && ack.ok) self.apply(ack.snapshot);
    });
  };
  Live.prototype.apply = function (snap) {
    this.seq = snap.seq;
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
  /* Emit with the session id; resolve with the ack; show a refusal in the page's alert box. */
  Live.prototype.send = function (event, data, done) {
    var payload = Object.assign({ session_id: this.sessionId }, data || {});
    this.socket.emit(event, payload, function (ack) {
      var box = document.getElementById("rt-error");
      if (box) box.textContent = ack && !ack.ok ? ack.message : "";
      if (done) done(ack || {});
    });
  };

  window.Roundtable = { Live: Live, cid: cid, el: el, fmt: fmt };
})();
