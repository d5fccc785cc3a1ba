/* smart-routing web chat widget — one <script> tag, no build step.
 *
 *   <script src="https://HOST/chat/widget.js" data-entry-point="demo"
 *           data-title="Chat with us" data-container="#chat"></script>
 *
 * Without data-container the chat opens as a floating panel. The visitor id and its key
 * (given by the service in the first history frame) are kept in localStorage, so a reload
 * resumes the same conversation with its history; a dropped socket reconnects and asks
 * for what it missed (?after=<last seq>). A socket refused for a missing or wrong key
 * (4401) starts a new conversation. data-ticket-url (the admin's simulator): a ticket is
 * fetched from it, with the page's cookies, before each connection.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var origin = new URL(script.src, window.location.href).origin;
  var entryPoint = script.getAttribute("data-entry-point") || "demo";
  var title = script.getAttribute("data-title") || "Chat";
  var containerSelector = script.getAttribute("data-container");
  var ticketUrl = script.getAttribute("data-ticket-url");
  var storageKey = "smart-routing:" + entryPoint;
  // the widget speaks the visitor's language (the page's choice, else the browser's), and
  // tells the service, which makes it the contact's language for the routing's texts
  var language = (script.getAttribute("data-language") || navigator.language || "en")
    .slice(0, 16);
  var WORDS = {
    en: {connecting: "connecting…", online: "online", reconnecting: "reconnecting…",
         placeholder: "Type a message…", message: "Message", send: "Send",
         ended: "This conversation has ended.", again: "Start again", typing: "typing",
         anAgent: "An agent", agent: "agent", logIn: "log in again to chat",
         attach: "Attach a file", notSent: "not sent", file: "file"},
    fr: {connecting: "connexion…", online: "en ligne", reconnecting: "reconnexion…",
         placeholder: "Écrivez un message…", message: "Message", send: "Envoyer",
         ended: "Cette conversation est terminée.", again: "Recommencer",
         typing: "en train d'écrire", anAgent: "Un conseiller", agent: "conseiller",
         logIn: "reconnectez-vous pour discuter", attach: "Joindre un fichier",
         notSent: "non envoyé", file: "fichier"}
  };
  var words = WORDS[language.split("-")[0].toLowerCase()] || WORDS.en;

  function randomId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function visitorId() {
    var id = window.localStorage.getItem(storageKey + ":visitor");
    if (!id) {
      id = "v" + randomId();
      window.localStorage.setItem(storageKey + ":visitor", id);
      window.localStorage.removeItem(storageKey + ":key");
    }
    return id;
  }

  function visitorKey() { return window.localStorage.getItem(storageKey + ":key"); }

  function forgetVisitor() {
    window.localStorage.removeItem(storageKey + ":visitor");
    window.localStorage.removeItem(storageKey + ":key");
    lastSeq = null;
  }

  var style = document.createElement("style");
  style.textContent = [
    ".sr-chat{font:15px/1.4 system-ui,sans-serif;display:flex;flex-direction:column;",
    "background:#fff;border:1px solid #d0d7de;border-radius:12px;overflow:hidden;",
    "width:360px;height:520px;box-shadow:0 8px 24px rgba(0,0,0,.12)}",
    ".sr-chat.sr-floating{position:fixed;right:20px;bottom:20px;z-index:2147483000}",
    ".sr-head{background:#0b5cad;color:#fff;padding:12px 16px;font-weight:600;",
    "display:flex;justify-content:space-between;align-items:center}",
    ".sr-status{font-size:12px;font-weight:400;opacity:.85}",
    ".sr-log{flex:1;overflow-y:auto;padding:12px;background:#f6f8fa}",
    ".sr-msg{max-width:80%;margin:6px 0;padding:8px 12px;border-radius:14px;",
    "white-space:pre-wrap;word-wrap:break-word}",
    ".sr-bot{background:#fff;border:1px solid #d0d7de;border-bottom-left-radius:4px}",
    ".sr-visitor{background:#0b5cad;color:#fff;margin-left:auto;border-bottom-right-radius:4px}",
    ".sr-choices{display:flex;flex-wrap:wrap;gap:6px;margin:4px 0 8px}",
    ".sr-choice{border:1px solid #0b5cad;color:#0b5cad;background:#fff;border-radius:16px;",
    "padding:6px 12px;cursor:pointer;font:inherit}",
    ".sr-choice:hover{background:#e8f1fb}.sr-choice:disabled{opacity:.5;cursor:default}",
    ".sr-form{display:flex;border-top:1px solid #d0d7de}",
    ".sr-attach{border:0;background:none;font-size:20px;padding:0 10px;cursor:pointer}",
    ".sr-failed{opacity:.7;border:1px dashed #cf222e}",
    ".sr-input{flex:1;border:0;padding:12px;font:inherit;outline:none}",
    ".sr-send{border:0;background:#0b5cad;color:#fff;padding:0 18px;font:inherit;cursor:pointer}",
    ".sr-media{max-width:100%;border-radius:8px;margin-top:6px;display:block}",
    ".sr-agent{background:#eef8f0;border:1px solid #9bd3a8;border-bottom-left-radius:4px}",
    ".sr-sender{display:flex;align-items:center;gap:6px;font-size:12px;color:#57606a;",
    "margin:8px 0 -2px}",
    ".sr-avatar{width:20px;height:20px;border-radius:50%;background:#2da44e;color:#fff;",
    "display:inline-flex;align-items:center;justify-content:center;font-size:11px;",
    "font-weight:600}",
    ".sr-typing{color:#57606a;font-style:italic}",
    ".sr-typing span{animation:sr-blink 1.2s infinite}",
    ".sr-typing span:nth-child(2){animation-delay:.2s}",
    ".sr-typing span:nth-child(3){animation-delay:.4s}",
    "@keyframes sr-blink{0%,80%,100%{opacity:.2}40%{opacity:1}}",
    ".sr-ended{text-align:center;color:#57606a;font-size:13px;margin:12px 0}",
    ".sr-again{margin-left:6px;border:1px solid #0b5cad;color:#0b5cad;background:#fff;",
    "border-radius:14px;padding:3px 10px;cursor:pointer;font:inherit}"
  ].join("");
  document.head.appendChild(style);

  var root = document.createElement("div");
  root.className = "sr-chat";
  root.setAttribute("data-testid", "sr-chat");
  root.innerHTML = '<div class="sr-head"><span class="sr-title"></span>' +
    '<span class="sr-status"></span></div>' +
    '<div class="sr-log" aria-live="polite"></div>' +
    '<form class="sr-form"><input class="sr-input" maxlength="4096" autocomplete="off" ' +
    'aria-label="Message"><input class="sr-file" type="file" hidden accept="image/*,' +
    'application/pdf,text/plain,audio/*,video/mp4,video/webm"><button class="sr-attach" ' +
    'type="button">+</button><button class="sr-send" type="submit"></button></form>';
  root.querySelector(".sr-title").textContent = title;
  root.querySelector(".sr-status").textContent = words.connecting;
  root.querySelector(".sr-input").setAttribute("placeholder", words.placeholder);
  root.querySelector(".sr-input").setAttribute("aria-label", words.message);
  root.querySelector(".sr-send").textContent = words.send;
  root.querySelector(".sr-attach").setAttribute("aria-label", words.attach);
  root.querySelector(".sr-attach").setAttribute("title", words.attach);
  root.setAttribute("lang", language);
  var container = containerSelector ? document.querySelector(containerSelector) : null;
  if (container) { container.appendChild(root); } else {
    root.classList.add("sr-floating");
    document.body.appendChild(root);
  }
  var log = root.querySelector(".sr-log");
  var status = root.querySelector(".sr-status");
  var input = root.querySelector(".sr-input");

  var socket = null;
  var lastSeq = null;
  var shown = {};
  var outbox = [];
  var retryDelay = 500;

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function addBubble(who, text) {
    var bubble = document.createElement("div");
    bubble.className = "sr-msg sr-" + who;
    bubble.textContent = text;
    log.appendChild(bubble);
    scrollDown();
    return bubble;
  }

  function disableChoices() {
    Array.prototype.forEach.call(log.querySelectorAll(".sr-choice"), function (b) {
      b.disabled = true;
    });
  }

  // "typing…" from the moment the service accepted a message until something answers
  // (or a while passes: the bot may have nothing to say)
  var typing = null;
  var typingTimer = null;
  function showTyping(seconds) {
    hideTyping();
    typing = document.createElement("div");
    typing.className = "sr-msg sr-bot sr-typing";
    typing.setAttribute("data-testid", "sr-typing");
    typing.setAttribute("aria-label", words.typing);
    typing.innerHTML = "<span>•</span><span>•</span><span>•</span>";
    log.appendChild(typing);
    scrollDown();
    typingTimer = window.setTimeout(hideTyping, (seconds || 15) * 1000);
  }
  function hideTyping() {
    if (typingTimer) { window.clearTimeout(typingTimer); typingTimer = null; }
    if (typing && typing.parentNode) { typing.parentNode.removeChild(typing); }
    typing = null;
  }

  // the conversation ended (the routing finished, it expired, an agent closed it): said
  // once, with a way to start again — the next message opens a new conversation
  function showEnded() {
    hideTyping();
    disableChoices();
    if (log.querySelector(".sr-ended")) { return; }
    var notice = document.createElement("div");
    notice.className = "sr-ended";
    notice.setAttribute("data-testid", "sr-ended");
    notice.textContent = words.ended;
    var again = document.createElement("button");
    again.type = "button";
    again.className = "sr-again";
    again.textContent = words.again;
    again.addEventListener("click", function () {
      if (notice.parentNode) { notice.parentNode.removeChild(notice); }
      input.focus();
    });
    notice.appendChild(again);
    log.appendChild(notice);
    scrollDown();
  }
  function clearEnded() {
    Array.prototype.forEach.call(log.querySelectorAll(".sr-ended"), function (notice) {
      notice.parentNode.removeChild(notice);
    });
  }

  function addBotMessage(frame, interactive) {
    if (frame.seq) {
      if (shown[frame.seq]) { return; }
      shown[frame.seq] = true;
      lastSeq = frame.seq;  // opaque: the latest one received (a repeat is skipped above)
    }
    hideTyping();
    if (frame.from === "agent") {  // a person answers: say who
      var sender = document.createElement("div");
      sender.className = "sr-sender";
      var avatar = document.createElement("span");
      avatar.className = "sr-avatar";
      avatar.textContent = (frame.agent || "?").charAt(0).toUpperCase();
      sender.appendChild(avatar);
      sender.appendChild(document.createTextNode((frame.agent || words.anAgent) + " (" + words.agent + ")"));
      log.appendChild(sender);
    }
    var bubble = addBubble(frame.from === "agent" ? "agent" : "bot", frame.text || "");
    if (frame.media_url) {  // ours come as a path: after the service's origin
      var address = frame.media_url.charAt(0) === "/" ? origin + frame.media_url :
        frame.media_url;
      var kind = frame.media_kind || "image";
      var attached = kind === "image" || kind === "audio" || kind === "video" ?
        document.createElement(kind === "image" ? "img" : kind) : document.createElement("a");
      if (attached.tagName === "A") {
        attached.href = address;
        attached.target = "_blank";
        attached.rel = "noopener";
        attached.textContent = "\ud83d\udcce " + words.file;
      } else {
        attached.className = "sr-media";
        attached.src = address;
        if (kind === "image") { attached.alt = ""; } else { attached.controls = true; }
      }
      bubble.appendChild(attached);
    }
    if (frame.choices && frame.choices.length) {
      disableChoices();
      var row = document.createElement("div");
      row.className = "sr-choices";
      frame.choices.forEach(function (choice) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "sr-choice";
        button.textContent = choice.label;
        button.disabled = !interactive;
        button.addEventListener("click", function () {
          disableChoices();
          addBubble("visitor", choice.label);
          send({ type: "choice", value: choice.value, label: choice.label });
        });
        row.appendChild(button);
      });
      log.appendChild(row);
      scrollDown();
    }
  }

  // the visitor has seen what came: said when the page is in front (read receipts for the
  // agent), at most once a second; nothing to say when nothing came since the last time
  var unseen = false, lastRead = 0;
  function seen() {
    if (!unseen || document.visibilityState !== "visible" || !document.hasFocus()) { return; }
    if (!socket || socket.readyState !== 1 || Date.now() - lastRead < 1000) {
      window.setTimeout(seen, 1000);
      return;
    }
    unseen = false;
    lastRead = Date.now();
    socket.send(JSON.stringify({ type: "read" }));
  }
  document.addEventListener("visibilitychange", seen);
  window.addEventListener("focus", seen);

  function send(frame) {
    frame.id = randomId();
    outbox.push(frame);
    flush();
  }

  function flush() {
    if (!socket || socket.readyState !== 1) { return; }
    outbox.forEach(function (frame) { socket.send(JSON.stringify(frame)); });
  }

  function connect() {
    if (!ticketUrl) { openSocket(""); return;  }
    window.fetch(ticketUrl, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new Error("no ticket"); }
      return response.json();
    }).then(function (answer) { openSocket("&ticket=" + encodeURIComponent(answer.ticket)); },
      function () { status.textContent = words.logIn; retry(); });
  }

  function retry() {
    window.setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 10000);
  }

  function openSocket(ticket) {
    var key = visitorKey();
    var url = origin.replace(/^http/, "ws") + "/chat/" + encodeURIComponent(entryPoint) +
      "/ws?visitor=" + encodeURIComponent(visitorId()) +
      (key ? "&key=" + encodeURIComponent(key) : "") +
      (lastSeq && key ? "&after=" + encodeURIComponent(lastSeq) : "") +
      "&lang=" + encodeURIComponent(language) + ticket;
    socket = new WebSocket(url);
    socket.onopen = function () {
      status.textContent = words.online;
      retryDelay = 500;
      flush();
    };
    socket.onmessage = function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (error) { return; }
      if (frame.type === "message") {
        addBotMessage(frame, true);
        unseen = true;
        seen();
      } else if (frame.type === "history") {
        if (frame.key) { window.localStorage.setItem(storageKey + ":key", frame.key); }
        frame.messages.forEach(function (item, index) {
          if (item.from === "visitor") {
            addBubble("visitor", [item.text].concat((item.files || []).map(function (name) {
              return "\ud83d\udcce " + name;
            })).filter(Boolean).join("\n"));
          } else {
            addBotMessage(item, index === frame.messages.length - 1);
          }
        });
        if (frame.ended && frame.messages.length) { showEnded(); }
        unseen = frame.messages.length > 0;
        seen();
      } else if (frame.type === "ended") {
        showEnded();
      } else if (frame.type === "typing") {  // an agent is writing an answer
        showTyping(6);
      } else if (frame.type === "ack") {
        var waited = outbox.some(function (pending) { return pending.id === frame.id; });
        outbox = outbox.filter(function (pending) { return pending.id !== frame.id; });
        if (waited && !frame.duplicate) { showTyping(); }
      } else if (frame.type === "error") {
        status.textContent = frame.message;
      }
    };
    socket.onclose = function (closed) {
      if (closed.code === 4401) {  // this browser lost the key: a new conversation
        forgetVisitor();
        log.textContent = "";
        shown = {};
      }
      status.textContent = words.reconnecting;
      retry();
    };
  }

  root.querySelector(".sr-form").addEventListener("submit", function (submitEvent) {
    submitEvent.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    disableChoices();
    clearEnded();
    addBubble("visitor", text);
    send({ type: "message", text: text });
  });

  // a file: uploaded with the visitor's key, then named in a message (with the text typed)
  var fileInput = root.querySelector(".sr-file");
  root.querySelector(".sr-attach").addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (!file) { return; }
    var text = input.value.trim();
    input.value = "";
    disableChoices();
    clearEnded();
    var bubble = addBubble("visitor", text);
    var major = file.type.split("/")[0];
    if (major === "image" || major === "audio" || major === "video") {  // seen, or played
      var preview = document.createElement(major === "image" ? "img" : major);
      preview.className = "sr-media";
      if (major === "image") { preview.alt = file.name; } else { preview.controls = true; }
      preview.src = URL.createObjectURL(file);
      bubble.appendChild(preview);
    } else {
      bubble.appendChild(document.createTextNode((text ? "\n" : "") + "\ud83d\udcce " + file.name));
    }
    var body = new FormData();
    body.append("file", file, file.name);
    window.fetch(origin + "/chat/" + encodeURIComponent(entryPoint) + "/upload?visitor=" +
      encodeURIComponent(visitorId()) + "&key=" + encodeURIComponent(visitorKey() || ""),
      { method: "POST", body: body }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) { throw new Error(answer.error ? answer.error.message : "refused"); }
        send({ type: "message", text: text, media: [answer.id] });
      });
    }).catch(function (error) {
      bubble.classList.add("sr-failed");
      bubble.appendChild(document.createTextNode(" (" + words.notSent + ": " + error.message + ")"));
    });
  });

  connect();
}());
