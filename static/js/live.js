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
 *     onState: function (state, ack) { ... },     // "live" | "offline" | "refused"
 *     onRetry: function (ack) { ... }             // a write refused as not saved, resent soon
 *   });
 *   live.request("post_comment", payload, done, {timeoutMs: 5000});
 *   live.connected();  live.clientId();  live.socket (the Socket.IO socket)
 *
 * Connecting: WebSocket only (several server processes sit behind sticky sessions; the load
 * tool speaks WebSocket too). Reconnecting is ours, not Socket.IO's: exponential backoff with
 * full jitter (a random wait between 0 and min(10 s, 0.5 s * 2^attempt)), so the hundreds of
 * people of a dead worker do not all knock on the surviving one at the same moment
 * (loadtest/loadclient.py reconnects the same way). A socket the page closed itself
 * (socket.disconnect()) stays closed.
 * Unacknowledged writes: a request whose payload carries a `client_id` is kept until its
 * acknowledgement arrives; after a reconnect and the rejoin's snapshot it is sent again with the
 * same client id (the server answers a repeat with the same answer, `repeat: true`). One
 * refused because it was not written (`database_unavailable`, `not_recorded`, `timeout`: the
 * server's database was away) is sent again after a backoff with full jitter, up to 8 times;
 * options.onRetry(ack) lets the page say so meanwhile (ack.message).
 * `resync` from the server (its message queue was away, broadcasts may be lost): a snapshot is
 * asked for within 2 s.
 * Catching up (docs/realtime.md): on every (re)connect the client sends `join` with the seq it
 * has; the acknowledgement is a snapshot. A broadcast that carries `seq` is dropped when it is
 * older than what the page shows; when it is more than one ahead (contiguous namespaces) it is
 * applied (handlers are idempotent) and a `snapshot` is asked for, once at a time. A snapshot
 * older than an event already applied is not applied: a fresh one is asked for. A snapshot
 * with `reset: true` restarts the count at its seq (the page tells the reader to reload).
 * Client ids: 32 lowercase hex characters, the server's own form format (uuid4().hex).
 * Every client is listed in MadangLive.clients (for tests and the browser console).
 * Words for what arrives live, as the server words what it renders (every live page loads
 * this file): MadangLive.plural({one: "{n} vote", other: "{n} votes"}, n) picks the page
 * language's plural form of the server's translations (Intl.PluralRules);
 * MadangLive.localTime(iso, {hour: "2-digit", minute: "2-digit"}, "Asia/Seoul") writes a time
 * in the page's language and the viewer's profile time zone, not the browser's. */
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
    this.unacked = []; /* requests with a client id still waiting for their acknowledgement */
    this.attempts = 0; /* reconnection attempts since the socket was last connected */
    this.retryTimer = null;
    this.socket = window.io(options.namespace, {
      transports: ["websocket"], auth: options.auth, reconnection: false
    });
    this.watchOpening();
    this.socket.on("connect", function () {
      self.attempts = 0;
      self.catchingUp = false;
      if (options.join) self.join();
      else { self.setState("live"); self.resendUnacked(); }
    });
    this.socket.on("disconnect", function (reason) {
      self.catchingUp = false;
      self.setState("offline");
      if (reason !== "io client disconnect") self.reconnectLater();
    });
    this.socket.on("connect_error", function () {
      self.setState("offline");
      self.reconnectLater();
    });
    /* The server's message queue was away and broadcasts may have been lost: catch up, after
     * a random moment so that a full room does not ask in the same instant. */
    this.socket.on("resync", function () {
      window.setTimeout(function () { self.catchUp(); }, Math.random() * RESYNC_SPREAD_MS);
    });
    Object.keys(options.on || {}).forEach(function (name) {
      self.socket.on(name, function (data) { self.receive(data, options.on[name]); });
    });
  }

  LiveClient.prototype.setState = function (state, ack) {
    if (state === this.state && state !== "refused") return;
    this.state = state;
    if (this.options.onState) this.options.onState(state, ack);
  };

  /* Exponential backoff with full jitter: the n-th retry waits a random 0..min(cap, base*2^n). */
  LiveClient.prototype.backoffMs = function (attempt) {
    return Math.random() * Math.min(RECONNECT_CAP_MS, RECONNECT_BASE_MS * Math.pow(2, attempt));
  };

  LiveClient.prototype.reconnectLater = function () {
    var self = this;
    if (this.retryTimer !== null) return;
    var delay = this.backoffMs(this.attempts);
    this.attempts += 1;
    this.retryTimer = window.setTimeout(function () {
      self.retryTimer = null;
      if (self.socket.connected) return;
      self.socket.connect();
      self.watchOpening();
    }, delay);
  };

  /* A connection closed before the handshake (a worker dying as it accepts, a proxy dropping
   * the upgrade) raises no error in socket.io-client: its manager would sit "opening" until
   * its 20 s timeout. Count it as a refused attempt at once and keep backing off. */
  LiveClient.prototype.watchOpening = function () {
    var self = this;
    var engine = this.socket.io.engine;
    if (!engine || this.socket.connected) return;
    function opened() { engine.off("close", closedEarly); }
    function closedEarly() {
      engine.off("open", opened);
      if (self.socket.connected) return;
      self.socket.disconnect(); /* resets the manager so that the next connect() opens anew */
      self.setState("offline");
      self.reconnectLater();
    }
    engine.once("open", opened);
    engine.once("close", closedEarly);
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
      if (joining) {
        self.setState("live", ack);
        self.resendUnacked(); /* back in the seat with a fresh snapshot: finish what was sent */
      }
    });
  };

  /* Send again, with the same client ids, every write that was never acknowledged. */
  LiveClient.prototype.resendUnacked = function () {
    this.unacked.slice().forEach(function (entry) { entry.sent = 0; entry.send(); });
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
   * changing events carry a client id, so a repeat changes nothing), then done(null).
   * A payload with a client id is durable: it waits through a disconnect and is sent again
   * after the rejoin, until an acknowledgement arrives (done is called once). */
  LiveClient.prototype.request = function (event, payload, done, options) {
    if (payload && typeof payload.client_id === "string") {
      this.requestDurably(event, payload, done, (options && options.timeoutMs) || ACK_TIMEOUT_MS);
      return;
    }
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

  LiveClient.prototype.requestDurably = function (event, payload, done, timeoutMs) {
    var self = this;
    var socket = this.socket;
    var entry = { payload: payload, sent: 0, settled: false };
    function settle(ack) {
      if (entry.settled) return;
      entry.settled = true;
      self.unacked = self.unacked.filter(function (e) { return e !== entry; });
      if (done) done(ack);
    }
    entry.refusals = 0;
    entry.send = function () {
      if (entry.settled || !socket.connected) return; /* sent after the rejoin */
      entry.sent += 1;
      socket.timeout(timeoutMs).emit(event, payload, function (err, ack) {
        if (!err && ack && !ack.ok && RETRY_CODES.indexOf(ack.error) >= 0 &&
            entry.refusals < MAX_REFUSALS) {
          /* Not written (the server's database was away): say so, and send it again after a
           * backoff with full jitter, as a reconnect waits (same client id). */
          entry.refusals += 1;
          if (self.options.onRetry) self.options.onRetry(ack);
          window.setTimeout(function () { entry.send(); }, self.backoffMs(entry.refusals));
          return;
        }
        if (!err) { settle(ack); return; }
        /* No answer while still connected: ask again (same client id), a few times at most. */
        if (socket.connected && entry.sent < MAX_SENDS_CONNECTED) entry.send();
        else if (socket.connected) settle(null);
      });
    };
    this.unacked.push(entry);
    entry.send();
  };

  var RECONNECT_BASE_MS = 500;
  var RECONNECT_CAP_MS = 10000;
  var ACK_TIMEOUT_MS = 10000;
  var RESYNC_SPREAD_MS = 2000;
  var MAX_SENDS_CONNECTED = 3;
  /* Refusals that mean "not written, send it again" (docs/realtime.md), and how many times. */
  var RETRY_CODES = ["database_unavailable", "not_recorded", "timeout"];
  var MAX_REFUSALS = 8;
  var clients = [];

  function connect(options) {
    var client = new LiveClient(options);
    clients.push(client);
    return client;
  }

  var pluralRules = window.Intl && Intl.PluralRules ? new Intl.PluralRules(document.documentElement.lang || "en") : null;
  function plural(forms, n) {
    var form = pluralRules ? pluralRules.select(n) : (n === 1 ? "one" : "other");
    return (forms[form] || forms.other).replace("{n}", String(n));
  }

  function localTime(iso, options, timeZone) {
    try {
      return new Date(iso).toLocaleString(document.documentElement.lang || undefined,
        Object.assign({}, options, { timeZone: timeZone || undefined }));
    } catch (e) {
      return iso;
    }
  }

  window.MadangLive = {
    connect: connect, clientId: clientId, clients: clients, plural: plural, localTime: localTime
  };
})();
