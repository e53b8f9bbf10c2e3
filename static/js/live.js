/* live.js: the one Socket.IO client of every live page (agendas, voting, proposals,
 * roundtables). Load it after vendor/socket.io.min.js and before the page's script.
 *
 *   var live = window.MadangLive.connect({
 *     namespace: "/agendas",                      // the feature's namespace
 *     auth: undefined,                            // handshake data (the projector's token)
 *     seq: 12,                                    // the seq the server-rendered page shows;
 *                                                 // leave out when the first snapshot sets it
 *     contiguous: true,                           // seq grows by one per broadcast, so a jump
 *                                                 // means one was missed (false for /voting,
 *                                                 // whose seq is one counter for the site)
 *     join: function (seq) { return ["join", {item_id: 3, since_seq: seq}]; },
 *     snapshot: function (seq) { return ["snapshot", {item_id: 3, since_seq: seq}]; },
 *     snapshotSeq: function (ack) { return ack.seq; },   // where an ack keeps its seq
 *     onSnapshot: function (ack) { ... },         // apply a join or snapshot acknowledgement
 *     on: {comment_created: function (data) { ... }},    // broadcasts
 *     onState: function (state, ack) { ... }      // "live" | "offline" | "refused"
 *   });
 *   live.request("post_comment", payload, done, {timeoutMs: 5000});
 *   live.connected();  live.clientId();  live.socket (the Socket.IO socket)
 *
 * Connecting: WebSocket only (several server processes sit behind sticky sessions; the load
 * tool speaks WebSocket too) with Socket.IO's default reconnection (1-5 s, randomised).
 * Catching up (docs/realtime.md): on every (re)connect the client sends `join` with the seq it
 * has; the acknowledgement is a snapshot. A broadcast that carries `seq` is dropped when it is
 * older than what the page shows; when it is more than one ahead (contiguous namespaces) it is
 * applied (handlers are idempotent) and a `snapshot` is asked for, once at a time. A snapshot
 * older than an event already applied is not applied: a fresh one is asked for. A snapshot
 * with `reset: true` restarts the count at its seq (the page tells the reader to reload).
 * Client ids: 32 lowercase hex characters, the server's own form format (uuid4().hex).
 * Every client is listed in MadangLive.clients (for tests and the browser console). */
(function () {
  "use strict";

  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  /* A client-generated id for a state-changing event: the server answers a repeat the same way. */
  function clientId() {
    var c = window.crypto;
    if (c && c.randomUUID) return c.randomUUID().replace(/-/g, "");
    if (c && c.getRandomValues) return hex(c.getRandomValues(new Uint8Array(16)));
    var id = "";
    while (id.length < 32) id += Math.random().toString(16).slice(2);
    return id.slice(0, 32);
  }

  function LiveClient(options) {
    var self = this;
    this.options = options;
    this.seq = typeof options.seq === "number" && !isNaN(options.seq) ? options.seq : null;
    this.contiguous = options.contiguous !== false;
    this.state = null;
    this.catchingUp = false; /* a join or snapshot is waiting for its acknowledgement */
    this.gapSeen = false; /* a gap showed while it waited */
    this.newestSeen = null;
    this.socket = window.io(options.namespace, { transports: ["websocket"], auth: options.auth });
    this.socket.on("connect", function () {
      self.catchingUp = false;
      if (options.join) self.join();
      else self.setState("live");
    });
    this.socket.on("disconnect", function () { self.catchingUp = false; self.setState("offline"); });
    this.socket.on("connect_error", function () { self.setState("offline"); });
    Object.keys(options.on || {}).forEach(function (name) {
      self.socket.on(name, function (data) { self.receive(data, options.on[name]); });
    });
  }

  LiveClient.prototype.setState = function (state, ack) {
    if (state === this.state && state !== "refused") return;
    this.state = state;
    if (this.options.onState) this.options.onState(state, ack);
  };

  LiveClient.prototype.connected = function () {
    return this.socket.connected;
  };

  LiveClient.prototype.clientId = clientId;

  /* Join (again): after every connect, and whenever the page's rooms may have changed. */
  LiveClient.prototype.join = function () {
    this.ask(this.options.join, true);
  };

  /* Ask for a snapshot (the join again when the namespace has no separate snapshot event). */
  LiveClient.prototype.catchUp = function () {
    if (this.catchingUp) { this.gapSeen = true; return; }
    this.ask(this.options.snapshot || this.options.join, false);
  };

  LiveClient.prototype.ask = function (build, joining) {
    var self = this;
    if (!this.socket.connected) return;
    var request = build(this.seq);
    this.catchingUp = true;
    this.gapSeen = false;
    this.socket.emit(request[0], request[1], function (ack) {
      self.catchingUp = false;
      if (!ack || !ack.ok) {
        if (joining) self.setState("refused", ack);
        return;
      }
      self.applySnapshot(ack);
      if (joining) self.setState("live", ack);
    });
  };

  LiveClient.prototype.applySnapshot = function (ack) {
    var seqOf = this.options.snapshotSeq || function (a) { return a.seq; };
    var snapSeq = seqOf(ack);
    var known = typeof snapSeq === "number";
    if (known && this.seq !== null && snapSeq < this.seq && !ack.reset) {
      this.catchUp(); /* read before an event the page has applied: ask for a newer one */
      return;
    }
    if (this.options.onSnapshot) this.options.onSnapshot(ack);
    if (known) this.seq = ack.reset || this.seq === null ? snapSeq : Math.max(this.seq, snapSeq);
    if (this.gapSeen && this.newestSeen !== null && this.newestSeen > this.seq) this.catchUp();
  };

  /* A broadcast: checked against the page's seq when it carries one, then handed on. */
  LiveClient.prototype.receive = function (data, handler) {
    var seq = data && typeof data.seq === "number" ? data.seq : null;
    if (seq === null || this.seq === null) { handler(data); return; }
    if (seq < this.seq) return; /* the page already shows something newer */
    this.newestSeen = this.newestSeen === null ? seq : Math.max(this.newestSeen, seq);
    handler(data);
    if (this.contiguous && seq > this.seq + 1) this.catchUp();
    else this.seq = Math.max(this.seq, seq);
  };

  /* Emit with an acknowledgement. With timeoutMs, one retry if no answer came in time (state-
   * changing events carry a client id, so a repeat changes nothing), then done(null). */
  LiveClient.prototype.request = function (event, payload, done, options) {
    var socket = this.socket;
    var timeoutMs = options && options.timeoutMs;
    var attempts = 0;
    function attempt() {
      attempts += 1;
      if (!timeoutMs) {
        socket.emit(event, payload, function (ack) { if (done) done(ack); });
        return;
      }
      socket.timeout(timeoutMs).emit(event, payload, function (err, ack) {
        if (err && attempts < 2 && socket.connected) { attempt(); return; }
        if (done) done(err ? null : ack);
      });
    }
    attempt();
  };

  var clients = [];

  function connect(options) {
    var client = new LiveClient(options);
    clients.push(client);
    return client;
  }

  window.MadangLive = { connect: connect, clientId: clientId, clients: clients };
})();
