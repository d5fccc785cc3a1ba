/* smart-routing agent console — vanilla JS, no build step.
 *
 * Logs in through the JSON API (the token stays in sessionStorage; an admin session
 * cookie works too), then keeps the list of the agent's conversations from two sources:
 * the WebSocket /agent/ws (instant, whichever service process committed the change: other
 * processes' commits come through a change stream) and a poll of GET /api/agent/interactions
 * every few seconds (what a socket missed while it was reconnecting, and the status).
 * Events are merged by id, so whichever arrives first wins and nothing shows twice.
 */
(function () {
  "use strict";
  var TOKEN_KEY = "smart-routing:agent-token";
  var POLL_MS = 4000;
  // what the customer's channel said of a message the agent or the bot sent
  var STATUS_SHOWN = { delivered: "delivered", read: "read \u2713\u2713", failed: "not delivered" };
  var SHOWN = { inbound: 1, outbound: 1, queued: 1, assigned: 1, transferred: 1,
    no_agent: 1, ended: 1, end: 1, note: 1 };

  var token = window.sessionStorage.getItem(TOKEN_KEY);
  var me = null;
  var conversations = {};
  var order = [];
  var selected = null;
  var socket = null;
  var retryDelay = 1000;
  var pollTimer = null;
  var noticeTimer = null;
  var tasks = [];

  function $(id) { return document.getElementById(id); }

  // the console in the agent's language (the browser's): French, else English as written
  var FRENCH = {
    available: "Disponible", away: "Absent", offline: "Hors ligne", logout: "Se déconnecter",
    agentLogin: "Connexion conseiller", conversations: "Conversations", myTasks: "Mes tâches",
    queue: "File", agent: "Conseiller", transfer: "Transférer", end: "Terminer la conversation",
    attach: "Joindre", send: "Envoyer", contact: "Contact", collected: "Recueilli par le bot",
    records: "Dossiers liés", earlier: "Conversations précédentes",
    canned: "Réponses types", notes: "Notes internes", addNote: "Ajouter la note",
    reply: "Écrire au client…", transferNote: "note pour le prochain conseiller",
    note: "Vue par les collègues, jamais par le client"
  };
  if ((navigator.language || "").toLowerCase().indexOf("fr") === 0) {
    document.documentElement.lang = "fr";
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (node) {
      node.textContent = FRENCH[node.getAttribute("data-i18n")] || node.textContent;
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-placeholder]"),
      function (node) {
        node.placeholder = FRENCH[node.getAttribute("data-i18n-placeholder")] || node.placeholder;
      });
  }

  function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    if (token) { headers.Authorization = "Bearer " + token; }
    if (body !== undefined) { headers["Content-Type"] = "application/json"; }
    return window.fetch(path, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (error) { data = null; }
        if (!response.ok) {
          var failure = new Error(data && data.error ? data.error.message : response.statusText);
          failure.status = response.status;
          throw failure;
        }
        return data;
      });
    });
  }

  function notice(text) {
    var box = $("notice");
    box.textContent = text;
    box.hidden = false;
    window.clearTimeout(noticeTimer);
    noticeTimer = window.setTimeout(function () { box.hidden = true; }, 6000);
  }

  // -- logging in ----------------------------------------------------------------------

  function showLogin(message) {
    $("console-view").hidden = true;
    $("me").hidden = true;
    $("login-view").hidden = false;
    $("login-error").hidden = !message;
    $("login-error").textContent = message || "";
    $("login-email").focus();
  }

  function checkAgent(answer) {
    if ((answer.permissions || []).indexOf("agent:console") < 0) {
      throw new Error("This account has no access to the agent console.");
    }
    return answer.user;
  }

  function start() {
    api("GET", "/api/auth/me").then(checkAgent).then(enter).catch(function (error) {
      token = null;
      window.sessionStorage.removeItem(TOKEN_KEY);
      showLogin(error.status === 401 ? "" : error.message);
    });
  }

  $("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    $("login-submit").disabled = true;
    api("POST", "/api/auth/login", {
      email: $("login-email").value, password: $("login-password").value
    }).then(function (answer) {
      token = answer.token;
      window.sessionStorage.setItem(TOKEN_KEY, token);
      return checkAgent(answer);
    }).then(enter).catch(function (error) {
      showLogin(error.status === 401 ? "Wrong e-mail or password." : error.message);
    }).then(function () { $("login-submit").disabled = false; });
  });

  $("logout").addEventListener("click", function () {
    api("POST", "/api/agent/status", { status: "offline" }).catch(function () { return null; })
      .then(function () { return api("POST", "/api/auth/logout"); })
      .catch(function () { return null; })
      .then(function () {
        token = null;
        me = null;
        window.sessionStorage.removeItem(TOKEN_KEY);
        if (socket) { socket.onclose = null; socket.close(); socket = null; }
        window.clearInterval(pollTimer);
        conversations = {};
        order = [];
        selected = null;
        tasks = [];
        renderList();
        renderThread();
        renderTasks();
        showLogin("");
      });
  });

  function enter(user) {
    me = user;
    $("login-view").hidden = true;
    $("console-view").hidden = false;
    $("me").hidden = false;
    $("me-email").textContent = user.email;
    refreshStatus();
    poll();
    connect();
    window.clearInterval(pollTimer);
    pollTimer = window.setInterval(function () { poll(); refreshStatus(); }, POLL_MS);
  }

  // -- status --------------------------------------------------------------------------

  function showStatus(state) {
    Array.prototype.forEach.call(document.querySelectorAll("[data-status]"), function (b) {
      b.classList.toggle("ac-on", b.getAttribute("data-status") === state.status);
      b.setAttribute("aria-pressed", String(b.getAttribute("data-status") === state.status));
    });
    $("load").textContent = state.load + " / " + state.capacity;
    var list = $("my-queues");
    list.textContent = "";
    state.queues.forEach(function (name) {
      var option = document.createElement("option");
      option.value = name;
      list.appendChild(option);
    });
  }

  function refreshStatus() {
    if (!me) { return; }
    api("GET", "/api/agent/status").then(showStatus).catch(function () { return null; });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-status]"), function (button) {
    button.addEventListener("click", function () {
      api("POST", "/api/agent/status", { status: button.getAttribute("data-status") })
        .then(showStatus).catch(function (error) { notice(error.message); });
    });
  });

  // -- conversations -------------------------------------------------------------------

  function merge(view) {
    var known = conversations[view.id];
    if (!known) {
      known = conversations[view.id] = { view: view, events: [], seen: {} };
      order.push(view.id);
    }
    known.view = view;
    (view.events || []).forEach(function (event) { addEvent(view.id, event, true); });
    delete known.view.events;
    return known;
  }

  function addEvent(id, event, quiet) {
    var known = conversations[id];
    if (!known || !event) { return; }
    if (known.seen[event.id]) {  // known: a delivery report may have moved it on (read)
      var same = known.events.filter(function (other) { return other.id === event.id; })[0];
      if (same && event.status && same.status !== event.status) {
        same.status = event.status;
        if (id === selected) { renderThread(); }
      }
      return;
    }
    known.seen[event.id] = true;
    known.events.push(event);
    known.events.sort(function (a, b) { return a.id < b.id ? -1 : a.id > b.id ? 1 : 0; });
    if (!quiet && id !== selected && event.type === "inbound") { known.unread = true; }
    if (!quiet) { renderList(); if (id === selected) { renderThread(); } }
  }

  function forget(id, message) {
    if (!conversations[id]) { return; }
    delete conversations[id];
    order = order.filter(function (other) { return other !== id; });
    if (selected === id) { selected = order.length ? order[0] : null; }
    if (message) { notice(message); }
    renderList();
    renderThread();
    refreshStatus();
  }

  function poll() {
    if (!me) { return; }
    pollTasks();
    api("GET", "/api/agent/interactions").then(function (answer) {
      var present = {};
      answer.items.forEach(function (view) { present[view.id] = true; merge(view); });
      order.slice().forEach(function (id) {
        if (!present[id]) { forget(id, "A conversation was closed."); }
      });
      if (!selected && order.length) { selected = order[0]; }
      renderList();
      renderThread();
    }).catch(function (error) {
      if (error.status === 401) { start(); }
    });
  }

  // a name (given by the channel or collected by the routing), never a bare visitor id
  function who(view) { return view.contact_shown || view.contact_name || view.contact; }
  var CHANNELS = { webchat: "Web chat", whatsapp: "WhatsApp", telegram: "Telegram",
    messenger: "Messenger" };
  function channelName(view) { return CHANNELS[view.channel] || view.channel; }

  function lastText(known) {
    for (var i = known.events.length - 1; i >= 0; i -= 1) {
      var event = known.events[i];
      if (event.type === "inbound" || event.type === "outbound") { return event.data.text || ""; }
    }
    return "";
  }

  function renderList() {
    var list = $("conversations");
    list.textContent = "";
    order.forEach(function (id) {
      var known = conversations[id];
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "ac-conv" + (id === selected ? " ac-selected" : "") +
        (known.unread ? " ac-unread" : "");
      button.setAttribute("data-testid", "conversation");
      button.setAttribute("data-interaction", id);
      var name = document.createElement("strong");
      name.textContent = who(known.view);
      var channel = document.createElement("span");
      channel.className = "ac-chip";
      channel.textContent = channelName(known.view);
      var preview = document.createElement("span");
      preview.className = "ac-preview";
      preview.textContent = lastText(known);
      button.appendChild(name);
      button.appendChild(channel);
      button.appendChild(preview);
      button.addEventListener("click", function () {
        selected = id;
        known.unread = false;
        renderList();
        renderThread();
      });
      item.appendChild(button);
      list.appendChild(item);
    });
    $("no-conversations").hidden = order.length > 0;
  }

  function describe(event) {
    var data = event.data || {};
    switch (event.type) {
      case "queued": return "Queued in " + data.queue + " (position " + data.position + ")";
      case "assigned":
        return "Assigned to " + (data.agent_name || data.agent) +
          (data.queue ? " from " + data.queue : "") + (data.transfer ? " (transfer)" : "");
      case "transferred":
        return "Transferred by " + (data.from_agent_name || data.from_agent) + " to " +
          (data.to_queue || data.to_user_name || data.to_user) +
          (data.note ? ": \u201c" + data.note + "\u201d" : "");
      case "note": return "Note by " + (data.agent_name || "an agent") + ": " + (data.text || "");
      case "no_agent": return "No agent: " + (data.reason || "");
      case "ended": return "Ended by " + (data.agent_name || data.by || "agent");
      case "end": return "Conversation ended (" + (data.reason || "") + ")";
      default: return event.type;
    }
  }

  function renderEvent(event) {
    var item = document.createElement("li");
    var data = event.data || {};
    var when = new Date(event.at);
    var time = isNaN(when) ? "" : when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    if (event.type === "inbound" || event.type === "outbound") {
      var mine = event.type === "outbound" && me && data.agent === me.id;
      item.className = "ac-msg " + (event.type === "inbound" ? "ac-customer" :
        (data.agent ? "ac-agent" : "ac-bot"));
      item.setAttribute("data-testid", event.type === "inbound" ? "customer-message" :
        "outbound-message");
      var meta = document.createElement("span");
      meta.className = "ac-meta";
      meta.textContent = (event.type === "inbound" ? "Customer" :
        mine ? "You" : data.agent ? (data.agent_name || "Agent") : "Bot") + " · " + time +
        (event.type === "outbound" && STATUS_SHOWN[event.status] ?
          " · " + STATUS_SHOWN[event.status] : "");
      if (event.type === "outbound" && event.status) {
        item.setAttribute("data-status", event.status);
      }
      var text = document.createElement("span");
      text.className = "ac-text";
      text.textContent = data.text || "";
      item.appendChild(meta);
      item.appendChild(text);
      (data.media || []).forEach(function (media, index) {
        item.appendChild(mediaElement(event.id, index, media));
      });
      if (data.media_url) {  // a file the bot or an agent sent: at its public address
        var sentFile = document.createElement((data.media_kind || "image") === "image" ? "img" : "a");
        var ours = data.media_url.indexOf("/media/files/");
        var address = ours >= 0 ? data.media_url.slice(ours) : data.media_url;  // same origin
        if (sentFile.tagName === "IMG") {
          sentFile.src = address;
          sentFile.alt = "image";
          sentFile.className = "ac-sent-media";
        } else {
          sentFile.href = address;
          sentFile.target = "_blank";
          sentFile.rel = "noopener";
          sentFile.textContent = "File";
        }
        item.appendChild(sentFile);
      }
    } else {
      item.className = "ac-system";
      item.textContent = describe(event) + (time ? " · " + time : "");
    }
    return item;
  }

  // a customer's media, fetched with the agent's credentials from our own address (an
  // <img src> would carry no bearer token), shown from a local object URL
  var mediaCache = {};

  function mediaElement(eventId, index, media) {
    var box = document.createElement("span");
    box.className = "ac-media";
    box.setAttribute("data-testid", "media-" + media.kind);
    if (media.kind === "location") {
      var place = document.createElement("a");
      place.href = "https://www.openstreetmap.org/?mlat=" + media.latitude + "&mlon=" +
        media.longitude + "#map=16/" + media.latitude + "/" + media.longitude;
      place.target = "_blank";
      place.rel = "noopener noreferrer";
      place.textContent = "Place: " + (media.name ? media.name + " " : "") + "(" +
        media.latitude + ", " + media.longitude + ")";
      box.appendChild(place);
      return box;
    }
    var path = "/media/" + encodeURIComponent(eventId) + "/" + index;
    var shown = mediaCache[path] || (mediaCache[path] = fetchMedia(path));
    shown.then(function (url) {
      var element;
      if (media.kind === "image") {
        element = document.createElement("img");
        element.alt = media.name || "image";
      } else if (media.kind === "audio" || media.kind === "video") {
        element = document.createElement(media.kind);
        element.controls = true;
      } else {
        element = document.createElement("a");
        element.download = media.name || "file";
        element.textContent = "File: " + (media.name || media.content_type || "download");
        element.href = url;
      }
      if (element.tagName !== "A") { element.src = url; }
      box.appendChild(element);
    }).catch(function (error) {
      box.textContent = "(" + media.kind + " unavailable: " + error.message + ")";
    });
    return box;
  }

  function fetchMedia(path) {
    var headers = {};
    if (token) { headers.Authorization = "Bearer " + token; }
    return window.fetch(path, { headers: headers, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(response.statusText || String(response.status)); }
        return response.blob();
      }).then(function (blob) { return URL.createObjectURL(blob); });
  }

  function renderThread() {
    var known = selected ? conversations[selected] : null;
    $("thread").hidden = !known;
    $("placeholder").hidden = Boolean(known);
    if (!known) { return; }
    $("thread-title").textContent = who(known.view);
    $("thread-sub").textContent = channelName(known.view) +
      (known.view.contact_name ? " · " + known.view.contact : "") + " · since " +
      new Date(known.view.created_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    var history = $("history");
    history.textContent = "";
    known.events.forEach(function (event) {
      if (SHOWN[event.type]) { history.appendChild(renderEvent(event)); }
    });
    history.scrollTop = history.scrollHeight;
    if (contextOf !== selected) { loadContext(selected); }
  }

  // -- beside the conversation: the contact, what the bot collected, records, earlier
  // conversations, canned replies for this customer, internal notes ---------------------

  var contextOf = null;

  function fill(list, rows, render) {
    list.textContent = "";
    rows.forEach(function (row) { list.appendChild(render(row)); });
  }

  function facts(box, pairs) {
    box.textContent = "";
    pairs.forEach(function (pair) {
      if (pair[1] === null || pair[1] === undefined || pair[1] === "") { return; }
      var term = document.createElement("dt");
      term.textContent = pair[0];
      var value = document.createElement("dd");
      value.textContent = typeof pair[1] === "object" ? JSON.stringify(pair[1]) : String(pair[1]);
      box.appendChild(term);
      box.appendChild(value);
    });
  }

  function line(text) {
    var item = document.createElement("li");
    item.textContent = text;
    return item;
  }

  function loadContext(id) {
    contextOf = id;
    if (!id) { return; }
    api("GET", "/api/agent/interactions/" + encodeURIComponent(id) + "/context")
      .then(function (context) { if (selected === id) { showContext(context); } })
      .catch(function () { contextOf = null; });
  }

  function showContext(context) {
    var contact = context.contact;
    facts($("ctx-contact"), [["Name", contact.name], ["Channel", CHANNELS[contact.channel] ||
      contact.channel], ["Address", contact.address], ["Phone", contact.phone],
      ["Language", contact.language], ["Consent", contact.opted_out ? "opted out" : null]]
      .concat(Object.keys(contact.variables || {}).filter(function (name) {
        return name !== "language";
      }).map(function (name) { return ["contact." + name, contact.variables[name]]; })));
    var names = Object.keys(context.variables);
    facts($("ctx-variables"), names.map(function (name) {
      return [name, context.variables[name]];
    }));
    $("ctx-no-variables").hidden = names.length > 0;
    var records = [];
    if (context.records.case) {
      records.push("Case " + context.records.case.reference + " · " +
        context.records.case.title + " (" + context.records.case.status + ")");
    }
    if (context.records.crm) { records.push("CRM card " + JSON.stringify(context.records.crm)); }
    if (context.records.crm2) {
      records.push((context.records.crm2.type || "CRM object") + " " +
        JSON.stringify(context.records.crm2));
    }
    context.tasks.forEach(function (task) {
      records.push("Task: " + task.title + " (" + task.status + ")");
    });
    fill($("ctx-records"), records, line);
    $("ctx-records-box").hidden = records.length === 0;
    fill($("ctx-earlier"), context.earlier, function (item) {
      return line(new Date(item.started_at).toLocaleDateString() + " · " +
        (CHANNELS[item.channel] || item.channel) + " · " + item.state.replace("_", " ") +
        (item.last_text ? " · \u201c" + item.last_text + "\u201d" : ""));
    });
    $("ctx-no-earlier").hidden = context.earlier.length > 0;
    fill($("ctx-canned"), context.canned, function (reply) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "ac-quiet";
      button.textContent = reply.label;
      button.title = reply.text;
      button.addEventListener("click", function () {
        $("reply").value = reply.text;  // the agent reads, edits, then sends
        $("reply").focus();
      });
      return button;
    });
    $("ctx-no-canned").hidden = context.canned.length > 0;
    fill($("ctx-notes"), context.notes, function (note) {
      return line(note.agent + ": " + note.text);
    });
  }

  $("note-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var id = selected;
    var text = $("note").value.trim();
    if (!id || !text) { return; }
    api("POST", "/api/agent/interactions/" + encodeURIComponent(id) + "/notes", { text: text })
      .then(function (note) {
        $("note").value = "";
        addEvent(id, { id: note.id, type: "note", at: note.at,
          data: { text: note.text, agent_name: note.agent } });
        loadContext(id);
      }).catch(function (error) { notice("Note not added: " + error.message); });
  });

  // -- acting on the selected conversation ---------------------------------------------

  // while the agent types, the customer sees "typing…" (at most one signal every 3 s)
  var typingSentAt = 0;
  $("reply").addEventListener("input", function () {
    var now = Date.now();
    if (!selected || !$("reply").value.trim() || now - typingSentAt < 3000) { return; }
    typingSentAt = now;
    api("POST", "/api/agent/interactions/" + encodeURIComponent(selected) + "/typing")
      .catch(function () { return null; });
  });

  $("attach").addEventListener("click", function () { $("reply-file").click(); });
  $("reply-file").addEventListener("change", function () {
    var id = selected;
    var file = $("reply-file").files && $("reply-file").files[0];
    $("reply-file").value = "";
    if (!id || !file) { return; }
    var body = new FormData();
    body.append("file", file, file.name);
    body.append("text", $("reply").value.trim());
    var headers = {};
    if (token) { headers.Authorization = "Bearer " + token; }
    window.fetch("/api/agent/interactions/" + encodeURIComponent(id) + "/files", {
      method: "POST", headers: headers, body: body, credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) { throw new Error(answer.error ? answer.error.message : "refused"); }
        $("reply").value = "";
        addEvent(id, { id: answer.id, type: "outbound", at: answer.at, status: answer.status,
          data: { text: answer.text, media_url: answer.media_url, agent: me.id,
                  agent_name: me.email, media_kind: file.type.indexOf("image/") === 0 ?
                    "image" : "file" } });
      });
    }).catch(function (error) { notice("File not sent: " + error.message); });
  });

  $("reply-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var id = selected;
    var text = $("reply").value.trim();
    if (!id || !text) { return; }
    $("reply").value = "";
    api("POST", "/api/agent/interactions/" + encodeURIComponent(id) + "/messages", { text: text })
      .then(function (sent) {
        addEvent(id, { id: sent.id, type: "outbound", at: sent.at,
          data: { text: sent.text, agent: me.id, agent_name: me.email } });
      }).catch(function (error) {
        $("reply").value = text;
        notice("Not sent: " + error.message);
      });
  });

  $("end").addEventListener("click", function () {
    var id = selected;
    if (!id) { return; }
    api("POST", "/api/agent/interactions/" + encodeURIComponent(id) + "/end")
      .then(function () { forget(id); notice("Conversation ended."); })
      .catch(function (error) { notice("Not ended: " + error.message); });
  });

  $("transfer-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var id = selected;
    var target = $("transfer-target").value.trim();
    if (!id || !target) { return; }
    var body = {};
    body[$("transfer-kind").value] = target;
    if ($("transfer-note").value.trim()) { body.note = $("transfer-note").value.trim(); }
    api("POST", "/api/agent/interactions/" + encodeURIComponent(id) + "/transfer", body)
      .then(function () {
        $("transfer-target").value = "";
        $("transfer-note").value = "";
        forget(id);
        notice("Conversation transferred to " + target + ".");
      }).catch(function (error) { notice("Not transferred: " + error.message); });
  });

  // -- live frames ---------------------------------------------------------------------

  function onFrame(frame) {
    var id = frame.interaction_id || (frame.interaction && frame.interaction.id);
    if (frame.type === "assigned") {
      var fresh = !conversations[id];
      merge(frame.interaction);
      if (!selected) { selected = id; }
      if (fresh) { notice("New conversation with " + who(conversations[id].view) + "."); }
      renderList();
      renderThread();
      refreshStatus();
    } else if (frame.type === "message" || frame.type === "sent") {
      if (!conversations[id]) { poll(); return; }
      addEvent(id, frame.event);
    } else if (frame.type === "read") {  // the customer read what was sent until then
      var known = conversations[id];
      if (!known) { return; }
      known.events.forEach(function (event) {
        if (event.type === "outbound" && (event.status === "sent" || event.status === "delivered") &&
            new Date(event.at) <= new Date(frame.until)) {
          event.status = "read";
        }
      });
      if (id === selected) { renderThread(); }
    } else if (frame.type === "ended") {
      forget(id, "Conversation with " + who(frame.interaction) + " ended.");
    } else if (frame.type === "transferred") {
      forget(id, "Conversation transferred to " + frame.to + ".");
    }
  }

  function connect() {
    if (!me) { return; }
    var url = window.location.origin.replace(/^http/, "ws") + "/agent/ws" +
      (token ? "?token=" + encodeURIComponent(token) : "");
    socket = new window.WebSocket(url);
    socket.onopen = function () {
      retryDelay = 1000;
      $("link").classList.add("ac-live");
      poll();
    };
    socket.onmessage = function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (error) { return; }
      onFrame(frame);
    };
    socket.onclose = function () {
      $("link").classList.remove("ac-live");
      socket = null;
      if (!me) { return; }
      window.setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 15000);
    };
  }

  // -- my tasks: the agent's and the agent's queues' open tasks, soonest due first ---------
  // Refreshed by poll() (the polling loop above); "Done" closes one through the API.

  function pollTasks() {
    if (!me) { return; }
    api("GET", "/api/agent/tasks").then(function (answer) {
      tasks = answer.items;
      renderTasks();
    }).catch(function () { return null; });
  }

  function dueText(task) {
    if (!task.due_at) { return "No due date"; }
    var due = new Date(task.due_at);
    return (task.overdue ? "Overdue since " : "Due ") +
      due.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }

  function openInteraction(id) {
    if (!conversations[id]) {
      notice("That conversation is not with you now.");
      return;
    }
    selected = id;
    conversations[id].unread = false;
    renderList();
    renderThread();
  }

  function taskDone(task, button) {
    button.disabled = true;
    api("POST", "/api/agent/tasks/" + encodeURIComponent(task.id) + "/done")
      .then(function () {
        tasks = tasks.filter(function (other) { return other.id !== task.id; });
        renderTasks();
        notice("Task done: " + task.title);
      }).catch(function (error) {
        button.disabled = false;
        notice("Not done: " + error.message);
        pollTasks();
      });
  }

  function renderTasks() {
    var list = $("tasks");
    list.textContent = "";
    tasks.forEach(function (task) {
      var item = document.createElement("li");
      item.className = "ac-task" + (task.overdue ? " ac-overdue" : "");
      item.setAttribute("data-testid", "task");
      item.setAttribute("data-task", task.id);
      var title = document.createElement("strong");
      title.textContent = task.title;
      title.title = task.description || "";
      var due = document.createElement("span");
      due.className = "ac-due";
      due.textContent = dueText(task);
      var done = document.createElement("button");
      done.type = "button";
      done.className = "ac-task-done ac-quiet";
      done.setAttribute("data-testid", "task-done");
      done.textContent = "Done";
      done.addEventListener("click", function () { taskDone(task, done); });
      item.appendChild(title);
      item.appendChild(done);
      item.appendChild(due);
      if (task.interaction_id) {
        var link = document.createElement("button");
        link.type = "button";
        link.className = "ac-task-link";
        link.setAttribute("data-testid", "task-interaction");
        link.textContent = "Open the conversation";
        link.addEventListener("click", function () { openInteraction(task.interaction_id); });
        item.appendChild(link);
      }
      list.appendChild(item);
    });
    $("no-tasks").hidden = tasks.length > 0;
  }

  start();
})();
