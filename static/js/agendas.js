/* Live agenda discussions: Socket.IO namespace /agendas, room item:<id>.
 * Without JavaScript every link and form works as a plain page; this script only adds
 * live updates, inline replies, reactions without reload and "load more" in place.
 * The socket, sequence numbers and catch-up after a gap or a reconnect are live.js's. */
(function () {
  "use strict";
  var section = document.getElementById("discussion");
  var thread = document.getElementById("thread");
  if (!section || !thread) return;

  var d = section.dataset;
  var itemId = Number(d.itemId);
  var viewerId = d.viewerId ? Number(d.viewerId) : null;
  var anchorId = d.anchor ? Number(d.anchor) : null;
  var TEMPLATE_ID = d.templateId;
  var accepts = d.accepts === "1";
  var statusEl = document.getElementById("live-status");
  var announcer = document.getElementById("live-announcer");
  var commentTemplate = document.getElementById("comment-template");
  var replyTemplate = document.getElementById("reply-form-template");
  var live = null;

  function say(text) {
    if (announcer) announcer.textContent = text;
  }

  /* In the viewer's profile time zone (the page's data-time-zone), as the server writes the
   * times of the comments it renders, not in the browser's own zone. */
  function formatTime(iso) {
    return window.MadangLive.localTime(iso, { dateStyle: "short", timeStyle: "short" }, d.timeZone);
  }

  /* The heading's "(3 comments)": counted on from the page's total for each comment newer
   * than the newest one the page was rendered with (each once, whether it arrives by the
   * broadcast, the sender's own ack or a catch-up). The words are the server's, per plural
   * category of the page's language (Intl.PluralRules). */
  var totalNote = document.getElementById("comment-total");
  var counted = {};
  function countComment(c) {
    if (!totalNote || !c || c.id <= Number(totalNote.dataset.newestId || 0) || counted[c.id]) return;
    counted[c.id] = true;
    var n = Number(totalNote.dataset.total || 0) + 1;
    totalNote.dataset.total = String(n);
    var words = { one: totalNote.dataset.strOne, other: totalNote.dataset.strOther };
    totalNote.textContent = "(" + window.MadangLive.plural(words, n) + ")";
  }

  function commentEl(id) {
    return document.getElementById("comment-" + id);
  }

  /* Build a comment element from the per-viewer template; text goes in as text, the body
   * as the server's sanitised HTML. */
  function renderComment(c, level) {
    var holder = commentTemplate.content.firstElementChild.cloneNode(true);
    var li = holder.querySelector("li.comment");
    var all = [li].concat(Array.prototype.slice.call(li.querySelectorAll("*")));
    all.forEach(function (el) {
      Array.prototype.slice.call(el.attributes).forEach(function (attr) {
        if (attr.value.indexOf(TEMPLATE_ID) !== -1) {
          el.setAttribute(attr.name, attr.value.split(TEMPLATE_ID).join(String(c.id)));
        }
      });
    });
    li.className = "comment level-" + Math.min(level, 7) + " status-" + c.status;
    li.dataset.id = c.id;
    li.dataset.parent = c.parent_id || "";
    li.dataset.branch = c.branch_id;
    li.dataset.path = c.path;
    li.dataset.level = level;
    li.dataset.frameLevel = c.frame_level;
    li.dataset.authorId = c.author_id || "";
    li.dataset.status = c.status;
    li.dataset.editableUntil = c.editable_until;
    li.querySelector(".comment-author").textContent = c.author_name || d.strDeleted;
    var time = li.querySelector("time");
    time.setAttribute("datetime", c.created_at);
    time.textContent = formatTime(c.created_at);
    li.querySelector(".comment-edited").hidden = !c.edited;
    var levelNote = li.querySelector(".comment-meta .visually-hidden");
    if (levelNote) {
      levelNote.textContent = level > 0 ? d.strLevel.replace("987654321", String(level + 1)) : "";
    }
    var body = li.querySelector(".comment-body");
    body.textContent = "";
    if (c.status === "visible") {
      body.innerHTML = c.body_html; /* sanitised by the server's bleach allow-list */
    } else {
      var p = document.createElement("p");
      p.className = "placeholder";
      p.textContent = c.status === "deleted" ? d.strDeleted
        : d.strHidden.replace("__REASON__", c.hidden_reason);
      body.appendChild(p);
    }
    var reactions = li.querySelector("form.reactions");
    if (reactions) {
      if (c.status !== "visible") {
        reactions.remove();
      } else {
        ["agree", "disagree", "pass"].forEach(function (value) {
          var button = reactions.querySelector("button[value=" + value + "]");
          button.querySelector(".count").textContent = c.counts[value];
          button.disabled = !accepts;
        });
      }
    }
    var mineAuthor = viewerId !== null && c.author_id === viewerId;
    var editable = mineAuthor && new Date(c.editable_until) > new Date();
    li.querySelectorAll(".only-author").forEach(function (el) { if (!mineAuthor) el.remove(); });
    li.querySelectorAll(".only-editable").forEach(function (el) { if (!editable) el.remove(); });
    li.querySelectorAll(".only-others").forEach(function (el) { if (mineAuthor) el.remove(); });
    if (c.status !== "visible") {
      li.querySelectorAll(".comment-actions li").forEach(function (el) {
        if (!el.querySelector(".action-moderate")) el.remove();
      });
    }
    if (!accepts) {
      li.querySelectorAll(".action-reply").forEach(function (el) { el.parentNode.remove(); });
    }
    var moderate = li.querySelector(".action-moderate");
    if (moderate && c.status === "deleted") moderate.parentNode.remove();
    else if (moderate) moderate.textContent = c.status === "hidden" ? d.strRestore : d.strHide;
    updateContinue(li, c);
    return li;
  }

  function updateContinue(li, c) {
    var cont = li.querySelector(".continue");
    if (!cont) return;
    cont.hidden = !c.continues;
    var count = cont.querySelector(".reply-count");
    if (count) count.textContent = "(" + d.strReplies.replace("987654321", c.reply_count) + ")";
  }

  function copyPressed(from, to) {
    from.querySelectorAll("button.reaction").forEach(function (button) {
      var twin = to.querySelector("button.reaction[value=" + button.value + "]");
      if (twin) twin.setAttribute("aria-pressed", button.getAttribute("aria-pressed"));
    });
  }

  function replaceComment(old, c) {
    var li = renderComment(c, Number(old.dataset.level));
    copyPressed(old, li);
    var openForm = old.querySelector("form.reply-form");
    if (openForm && c.status === "visible") li.querySelector("article").appendChild(openForm);
    old.replaceWith(li);
    return li;
  }

  function isDescendantPath(el, parentPath) {
    return el.classList.contains("comment") && el.dataset.path &&
      el.dataset.path.indexOf(parentPath + "/") === 0;
  }

  /* Put a new comment where the page order says, or leave it to "load more". */
  function insertComment(c) {
    var existing = commentEl(c.id);
    if (existing) {
      replaceComment(existing, c);
      return existing;
    }
    var li;
    if (c.parent_id === null) {
      if (anchorId !== null || thread.dataset.newestFirst !== "1") return null;
      li = renderComment(c, 0);
      thread.insertBefore(li, thread.firstElementChild);
    } else {
      var parent = commentEl(c.parent_id);
      if (!parent) return null;
      if (anchorId !== null && c.parent_id === anchorId) {
        if (thread.querySelector(".more-roots")) return null; /* "load more" will bring it */
        li = renderComment(c, Number(parent.dataset.level) + 1);
        thread.appendChild(li);
        return finishInsert(li);
      }
      if (c.frame_level === 0) { /* the reply opens a new frame: only the link changes */
        var cont = parent.querySelector(".continue");
        if (cont) {
          cont.hidden = false;
          var count = cont.querySelector(".reply-count");
          if (count) count.textContent = "(" + d.strReplies.replace("987654321", "+") + ")";
        }
        return null;
      }
      var next = parent.nextElementSibling;
      while (next && isDescendantPath(next, parent.dataset.path)) next = next.nextElementSibling;
      if (next && next.classList.contains("more") && next.dataset.moreRoot &&
          next.dataset.after && c.path > next.dataset.after &&
          c.path.indexOf(parent.dataset.path) === 0 &&
          next.previousElementSibling && isDescendantPath(next.previousElementSibling, parent.dataset.path)) {
        return null; /* it sorts after what "show more replies" will load */
      }
      li = renderComment(c, Number(parent.dataset.level) + 1);
      thread.insertBefore(li, next);
    }
    return finishInsert(li);
  }

  function finishInsert(li) {
    var empty = document.getElementById("empty-note");
    if (empty) empty.remove();
    li.classList.add("is-new");
    return li;
  }

  function setCounts(commentId, counts, mine) {
    var li = commentEl(commentId);
    if (!li) return;
    var form = li.querySelector("form.reactions");
    if (!form) return;
    ["agree", "disagree", "pass"].forEach(function (value) {
      var button = form.querySelector("button[value=" + value + "]");
      if (!button) return;
      button.querySelector(".count").textContent = counts[value];
      if (mine) button.setAttribute("aria-pressed", value === mine ? "true" : "false");
    });
  }

  function applyItem(item) {
    if (!item) return;
    var state = document.getElementById("item-state");
    if (state) state.textContent = item.state_label;
    if (accepts && !item.accepts_comments) {
      accepts = false;
      document.querySelectorAll(".comment-form").forEach(function (form) {
        var note = document.createElement("p");
        note.className = "closed-note";
        note.textContent = d.strClosed;
        form.replaceWith(note);
      });
      thread.querySelectorAll("button.reaction").forEach(function (b) { b.disabled = true; });
      thread.querySelectorAll(".action-reply").forEach(function (a) { a.parentNode.remove(); });
    }
  }

  function applySnapshot(snapshot) {
    if (snapshot.reset) {
      if (statusEl) statusEl.textContent = d.strReload;
      return;
    }
    snapshot.comments.forEach(function (c) {
      countComment(c);
      var li = insertComment(c);
      if (li) setCounts(c.id, c.counts, null);
    });
    applyItem(snapshot.item);
  }

  /* Sends with one retry after a timeout; the client id makes the retry harmless. */
  function send(event, payload, done) {
    live.request(event, payload, function (ack) {
      done(ack || { ok: false, message: d.strFailed });
    }, { timeoutMs: 5000 });
  }

  function connected() {
    return live !== null && live.connected();
  }

  function connect() {
    if (viewerId === null || typeof io === "undefined") return; /* sockets need a login */
    live = window.MadangLive.connect({
      namespace: "/agendas",
      seq: Number(d.seq || 0),
      join: function (seq) { return ["join", { item_id: itemId, since_seq: seq }]; },
      snapshot: function (seq) { return ["snapshot", { item_id: itemId, since_seq: seq }]; },
      onSnapshot: applySnapshot,
      onState: function (state, ack) {
        if (!statusEl) return;
        if (state === "live" && !ack.reset) statusEl.textContent = d.strLive;
        else if (state === "offline") statusEl.textContent = d.strOffline;
      },
      on: {
        comment_created: function (msg) {
          var fresh = !commentEl(msg.comment.id);
          countComment(msg.comment);
          var li = insertComment(msg.comment);
          if (li && fresh && msg.comment.author_id !== viewerId) {
            say(d.strNewComment.replace("__NAME__", msg.comment.author_name || ""));
          }
        },
        comment_updated: function (msg) {
          var li = commentEl(msg.comment.id);
          if (li) replaceComment(li, msg.comment);
        },
        reactions_changed: function (msg) { setCounts(msg.comment_id, msg.counts, null); },
        item_changed: function (msg) { applyItem(msg.item); }
      }
    });
  }

  function showError(form, message) {
    var box = form.querySelector(".field-error[role=alert]") || form.querySelector(".form-error");
    if (!box) {
      box = document.createElement("p");
      box.className = "field-error form-error";
      box.setAttribute("role", "alert");
      form.appendChild(box);
    }
    box.textContent = message;
  }

  /* Posting: through the socket when live, else the form posts as a normal page. */
  function submitComment(form, event) {
    if (!connected()) return;
    event.preventDefault();
    var bodyField = form.querySelector("textarea[name=body]");
    var parentField = form.querySelector("input[name=parent_id]");
    var clientField = form.querySelector("input[name=client_id]");
    if (!clientField.value) clientField.value = window.MadangLive.clientId();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    send("post_comment", {
      item_id: itemId,
      parent_id: parentField && parentField.value ? Number(parentField.value) : null,
      body: bodyField.value,
      client_id: clientField.value
    }, function (ack) {
      button.disabled = false;
      if (!ack || !ack.ok) {
        showError(form, (ack && ack.message) || d.strFailed);
        bodyField.focus();
        return;
      }
      countComment(ack.comment);
      var li = insertComment(ack.comment);
      bodyField.value = "";
      clientField.value = window.MadangLive.clientId();
      showError(form, "");
      say(d.strPosted);
      if (form.classList.contains("reply-form")) form.remove();
      if (li) {
        var link = li.querySelector(".comment-time");
        if (link && form.classList.contains("reply-form")) link.focus();
      }
    });
  }

  function openReplyForm(link) {
    var li = link.closest("li.comment");
    var article = li.querySelector("article");
    var existing = article.querySelector("form.reply-form");
    if (existing) {
      existing.querySelector("textarea").focus();
      return;
    }
    var form = replyTemplate.content.firstElementChild.cloneNode(true);
    var textarea = form.querySelector("textarea");
    var label = form.querySelector("label");
    textarea.id = "reply-body-" + li.dataset.id;
    label.setAttribute("for", textarea.id);
    form.querySelector("input[name=parent_id]").value = li.dataset.id;
    form.querySelector("input[name=client_id]").value = window.MadangLive.clientId();
    form.querySelector(".cancel-reply").addEventListener("click", function () {
      form.remove();
      link.focus();
    });
    article.appendChild(form);
    textarea.focus();
  }

  function loadMore(link) {
    var marker = link.closest("li.more");
    link.setAttribute("aria-busy", "true");
    fetch(link.dataset.fragmentUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("template");
        holder.innerHTML = html;
        var incoming = Array.prototype.slice.call(holder.content.querySelectorAll("li"));
        incoming.forEach(function (li) {
          if (!li.classList.contains("comment")) return;
          var existing = document.getElementById(li.id);
          if (existing) existing.remove();
        });
        var first = holder.content.querySelector("li.comment");
        var parentLevels = {};
        marker.replaceWith(holder.content);
        incoming.forEach(function (li) {
          if (!li.classList.contains("comment")) return;
          var parent = li.dataset.parent && commentEl(li.dataset.parent);
          var level = parent ? Number(parent.dataset.level) + 1 : Number(li.dataset.level);
          parentLevels[li.id] = level;
          li.dataset.level = level;
          li.className = li.className.replace(/level-\d+/, "level-" + Math.min(level, 7));
          var note = li.querySelector(".comment-meta .visually-hidden");
          if (note) {
            note.textContent = level > 0 ? d.strLevel.replace("987654321", String(level + 1)) : "";
          }
        });
        if (first) {
          var target = first.querySelector(".comment-time");
          if (target) target.focus();
        }
      })
      .catch(function () {
        link.removeAttribute("aria-busy");
        window.location.href = link.getAttribute("href");
      });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a");
    if (!link || !section.contains(link)) return;
    if (link.classList.contains("action-reply") && replyTemplate) {
      event.preventDefault();
      openReplyForm(link);
    } else if (link.dataset.fragmentUrl) {
      event.preventDefault();
      loadMore(link);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.classList.contains("comment-form")) {
      submitComment(form, event);
    } else if (form.classList.contains("reactions") && connected()) {
      event.preventDefault();
      var button = event.submitter;
      if (!button || !button.value) return;
      var commentId = Number(form.dataset.commentId);
      send("react", { comment_id: commentId, value: button.value }, function (ack) {
        if (ack && ack.ok) {
          setCounts(commentId, ack.counts, ack.mine);
        } else {
          say((ack && ack.message) || d.strFailed);
        }
      });
    }
  });

  connect();
})();
