/* contacthub web chat widget: one script, no framework, no build step.
 *
 *   <script src="https://hub.example.com/chat/widget.js"
 *           data-hub="https://hub.example.com" async></script>
 *
 * Optional attributes: data-identity-id and data-identity-hash (HMAC-SHA256 of the id with
 * the chat's secret, computed by the website's server), data-identity-email and
 * data-identity-email-hash (the same of the user's address, lower-cased), data-name,
 * data-email, data-title.
 * The widget lives in a shadow DOM (the page's CSS does not reach in, ours does not leak
 * out), shows every text as text (never HTML), keeps the conversation in localStorage
 * across page loads, and reconnects with backoff. A message stays in the outbox until the
 * hub acks it (after it is stored); a resend carries the same client_id, so the hub stores
 * it once however often it is sent.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__contacthubChat) return;
  window.__contacthubChat = true;

  var data = script.dataset || {};
  var hub = (data.hub || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var socketUrl = hub.replace(/^http/, "ws") + "/chat/ws";
  var storeKey = "contacthub-chat:" + hub;
  var TYPING_EVERY = 3000, TYPING_SHOWN = 5000, MAX_BACKOFF = 30000;

  var state = load();
  var ws = null, backoff = 1000, retryTimer = null, welcomed = false, refused = false;
  var status = null, ask = { name: true, email: true }, lastTypingSent = 0, typingTimer = null;

  function load() {
    var empty = { session: "", visitor: {}, messages: [], outbox: [], lastSeq: 0, open: false };
    try {
      var saved = JSON.parse(localStorage.getItem(storeKey) || "null");
      return saved && typeof saved === "object" ? Object.assign(empty, saved) : empty;
    } catch (e) {
      return empty;
    }
  }

  function save() {
    try {
      localStorage.setItem(storeKey, JSON.stringify(state));
    } catch (e) { /* private mode or full: the conversation lasts this page only */ }
  }

  function clientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  /* ---- the DOM, in a shadow root ---- */

  var host = document.createElement("div");
  host.id = "contacthub-chat";
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML = [
    "<style>",
    ":host{all:initial}[hidden]{display:none!important}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',sans-serif}",
    ".launcher{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;",
    "border:0;background:#2456d3;color:#fff;cursor:pointer;z-index:2147483000;",
    "display:flex;align-items:center;justify-content:center;",
    "box-shadow:0 4px 14px rgba(0,0,0,.25)}",
    ".dot{position:absolute;right:4px;top:4px;width:12px;height:12px;border-radius:50%;",
    "border:2px solid #fff;background:#999}.dot.on{background:#1fae5b}",
    ".panel{position:fixed;right:20px;bottom:88px;width:340px;max-width:calc(100vw - 40px);",
    "height:480px;max-height:calc(100vh - 120px);background:#fff;color:#222;font-size:14px;",
    "border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:flex;",
    "flex-direction:column;overflow:hidden;z-index:2147483000}",
    "header{background:#2456d3;color:#fff;padding:12px 14px}",
    "header h2{margin:0;font-size:16px;font-weight:600}",
    ".status{font-size:12px;opacity:.9;margin-top:2px}",
    ".notice{background:#fff6d6;color:#5a4500;font-size:12px;padding:8px 14px}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:6px}",
    ".msg{max-width:80%;padding:8px 10px;border-radius:10px;white-space:pre-wrap;",
    "word-wrap:break-word;line-height:1.35}",
    ".visitor{align-self:flex-end;background:#2456d3;color:#fff}",
    ".agent{align-self:flex-start;background:#eef0f4}",
    ".pending{opacity:.6}",
    ".typing{font-size:12px;color:#666;padding:0 12px 4px;min-height:16px}",
    "form{display:flex;gap:6px;padding:10px;border-top:1px solid #e3e5ea}",
    "form.prechat{flex-direction:column;border:0}",
    "input,textarea{flex:1;font-size:14px;padding:8px;border:1px solid #c9ccd3;",
    "border-radius:8px;resize:none;color:#222;background:#fff}",
    "button.send,button.start{border:0;border-radius:8px;background:#2456d3;color:#fff;",
    "padding:8px 12px;cursor:pointer;font-size:14px}",
    "</style>",
    // A drawn bubble, not an emoji: a system without an emoji font showed an empty box.
    "<button class='launcher' part='launcher' aria-label='Chat with us'>",
    "<svg viewBox='0 0 24 24' width='26' height='26' aria-hidden='true' focusable='false'>",
    "<path fill='currentColor' d='M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H10l-5 4v-4H4a2 2 0 0 1",
    "-2-2V5a2 2 0 0 1 2-2z'/></svg>",
    "<span class='dot'></span></button>",
    "<section class='panel' role='dialog' aria-label='Chat' hidden>",
    "<header><h2></h2><div class='status'>Connecting&#8230;</div></header>",
    "<div class='notice' hidden></div>",
    "<form class='prechat' hidden>",
    "<input name='name' placeholder='Your name' aria-label='Your name' autocomplete='name'>",
    "<input name='email' type='email' placeholder='Your email' aria-label='Your email'",
    " autocomplete='email'>",
    "<button class='start' type='submit'>Start chatting</button></form>",
    "<div class='log' aria-live='polite'></div><div class='typing'></div>",
    "<form class='compose'><textarea rows='2' placeholder='Type a message&#8230;'",
    " aria-label='Message'></textarea><button class='send' type='submit'>Send</button></form>",
    "</section>"
  ].join("");

  var launcher = root.querySelector(".launcher");
  var dot = root.querySelector(".dot");
  var panel = root.querySelector(".panel");
  var statusLine = root.querySelector(".status");
  var notice = root.querySelector(".notice");
  var log = root.querySelector(".log");
  var typingLine = root.querySelector(".typing");
  var prechat = root.querySelector(".prechat");
  var compose = root.querySelector(".compose");
  var textarea = compose.querySelector("textarea");
  root.querySelector("h2").textContent = data.title || "Chat with us";

  if (data.name) state.visitor.name = data.name;
  if (data.email) state.visitor.email = data.email;

  /* ---- rendering: text only ---- */

  function render() {
    log.textContent = "";
    state.messages.forEach(function (m) {
      var line = document.createElement("div");
      line.className = "msg " + (m.from === "agent" ? "agent" : "visitor") +
        (m.seq ? "" : " pending");
      line.textContent = m.text;
      if (!m.seq) line.title = "Sending\u2026";
      log.appendChild(line);
    });
    log.scrollTop = log.scrollHeight;
    var needName = ask.name && !state.visitor.name;
    var needEmail = ask.email && !state.visitor.email && !data.identityEmail;
    var asking = !state.messages.length && (needName || needEmail) && !state.visitor.skipped;
    prechat.hidden = !asking;
    compose.hidden = asking;
    prechat.querySelector("[name=name]").hidden = !ask.name;
    prechat.querySelector("[name=email]").hidden = !ask.email;
  }

  function showStatus() {
    if (refused) return;
    if (!status) {
      statusLine.textContent = welcomed ? "" : "Connecting\u2026";
      return;
    }
    dot.className = "dot" + (status.online ? " on" : "");
    if (status.online) {
      statusLine.textContent = "We're online";
      notice.hidden = true;
      return;
    }
    statusLine.textContent = status.open ? "Nobody is online right now" : "We're closed now";
    var when = status.next_open ? " We open " + formatTime(status.next_open) + "." : "";
    // By email only when the hub can send one; else the answer waits here for their return.
    notice.textContent = (!status.email
      ? "Leave a message: we'll answer here, when you come back."
      : state.visitor.email
        ? "Leave a message: we'll answer here and by email at " + state.visitor.email + "."
        : "Leave a message with your email and we'll answer by email.") + when;
    notice.hidden = false;
  }

  function formatTime(iso) {
    var at = new Date(iso);
    if (isNaN(at.getTime())) return "later";
    return at.toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" });
  }

  /* ---- the conversation ---- */

  function known(seq) {
    return state.messages.some(function (m) { return m.seq === seq; });
  }

  function receive(frame) {
    if (typeof frame.seq !== "number" || known(frame.seq)) return;
    var mine = frame.client_id && state.messages.some(function (m) {
      return m.client_id === frame.client_id;
    });
    if (mine) return acked(frame); /* stored, though its ack was lost */
    state.messages.push({ seq: frame.seq, from: frame.from, text: String(frame.text) });
    state.messages.sort(function (a, b) { return (a.seq || Infinity) - (b.seq || Infinity); });
    state.lastSeq = Math.max(state.lastSeq, frame.seq);
    if (frame.from === "agent") typingLine.textContent = "";
    save();
    render();
  }

  function acked(frame) {
    state.outbox = state.outbox.filter(function (o) { return o.client_id !== frame.client_id; });
    state.messages.forEach(function (m) {
      if (m.client_id === frame.client_id) m.seq = frame.seq;
    });
    state.lastSeq = Math.max(state.lastSeq, frame.seq);
    state.ticket = frame.ticket_id;
    save();
    render();
  }

  function send(text) {
    var item = { client_id: clientId(), text: text };
    state.outbox.push(item);
    state.messages.push({ client_id: item.client_id, from: "visitor", text: text });
    lastTypingSent = 0; /* typing the next one is news: what came before the first had no ticket */
    save();
    render();
    flush();
  }

  function flush() {
    if (!ws || ws.readyState !== 1 || !welcomed) return;
    state.outbox.forEach(function (o) {
      ws.send(JSON.stringify({ type: "message", client_id: o.client_id, text: o.text }));
    });
  }

  function failed(frame) {
    if (frame.code === "resume_ahead") {
      state.lastSeq = 0; /* the hub knows less than we do: take its whole conversation */
      save();
      return;
    }
    if (frame.client_id && (frame.code === "unavailable" || frame.code === "rate_limited")) {
      setTimeout(flush, frame.code === "rate_limited" ? 15000 : 3000);
      return;
    }
    if (frame.client_id) {  /* refused for good: drop it from the outbox, say why */
      state.outbox = state.outbox.filter(function (o) { return o.client_id !== frame.client_id; });
      state.messages = state.messages.filter(function (m) { return m.client_id !== frame.client_id; });
      save();
      render();
    }
    notice.textContent = frame.reason;
    notice.hidden = false;
  }

  var handlers = {
    welcome: function (frame) {
      welcomed = true;
      backoff = 1000;
      if (frame.session) state.session = frame.session;
      status = frame.status || null;
      ask = frame.ask || ask;
      save();
      showStatus();
      render();
      flush();
    },
    ack: acked,
    message: receive,
    typing: function () {
      typingLine.textContent = "Agent is typing\u2026";
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typingLine.textContent = ""; }, TYPING_SHOWN);
    },
    error: failed
  };

  /* ---- the socket ---- */

  function connect() {
    if (ws || refused) return;
    clearTimeout(retryTimer);
    welcomed = false;
    var socket = new WebSocket(socketUrl);
    ws = socket;
    socket.onopen = function () {
      var hello = {
        type: "hello",
        visitor: { name: state.visitor.name || "", email: state.visitor.email || "",
                   session: state.session || "" }
      };
      if (data.identityId) {
        hello.identity = { id: data.identityId, hash: data.identityHash || "" };
        if (data.identityEmail) {
          hello.identity.email = data.identityEmail;
          hello.identity.email_hash = data.identityEmailHash || "";
        }
      }
      if (state.lastSeq) hello.resume = state.lastSeq;
      else if (state.messages.length) hello.resume = 0;
      socket.send(JSON.stringify(hello));
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      var handle = frame && handlers[frame.type];
      if (handle) handle(frame);
    };
    socket.onclose = function (event) {
      ws = null;
      welcomed = false;
      if (event.code === 4403) {
        refused = true;
        statusLine.textContent = "Chat unavailable";
        notice.textContent = event.reason || "This chat is for signed-in customers.";
        notice.hidden = false;
        return;
      }
      statusLine.textContent = "Reconnecting\u2026";
      var wait = backoff * (0.75 + Math.random() / 2);
      backoff = Math.min(backoff * 2, MAX_BACKOFF);
      retryTimer = setTimeout(connect, wait);
    };
  }

  /* ---- the visitor's actions ---- */

  launcher.addEventListener("click", function () {
    panel.hidden = !panel.hidden;
    state.open = !panel.hidden;
    save();
    if (!panel.hidden) {
      connect();
      render();
      (compose.hidden ? prechat.querySelector("input") : textarea).focus();
    }
  });

  prechat.addEventListener("submit", function (event) {
    event.preventDefault();
    var name = prechat.querySelector("[name=name]").value.trim();
    var email = prechat.querySelector("[name=email]").value.trim();
    state.visitor = { name: name, email: email, skipped: !name && !email };
    save();
    if (ws) {  /* a new hello carries the name and email */
      var old = ws;
      ws = null;
      old.onclose = null;
      old.close();
    }
    connect();
    render();
    showStatus();
    textarea.focus();
  });

  compose.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = textarea.value.trim();
    if (!text) return;
    textarea.value = "";
    send(text);
  });

  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      compose.requestSubmit();
    }
  });

  textarea.addEventListener("input", function () {
    var now = Date.now();
    if (ws && welcomed && now - lastTypingSent > TYPING_EVERY) {
      lastTypingSent = now;
      ws.send(JSON.stringify({ type: "typing" }));
    }
  });

  function start() {
    document.body.appendChild(host);
    render();
    if (state.open) panel.hidden = false;
    if (state.open || state.messages.length) connect(); /* replies arrive live */
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
