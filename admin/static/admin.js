// Small helpers for the admin pages: dialogs, confirmations, repeatable rows, tree zoom.
// Everything works from data attributes; no inline script (the CSP forbids it).

// The words the scripts below show, in the viewer's language: the page puts them on <body>
// (data-words), translated with the templates' words.
var panelWords = (function () {
  "use strict";
  var words = {};
  try { words = JSON.parse(document.body.dataset.words || "{}"); } catch (error) { words = {}; }
  function word(key, english) { return words[key] || english; }
  return {
    word: word,
    steps: function (count) {
      var form = word(count === 0 ? "steps0" : count === 1 ? "steps1" : "steps2",
                      count === 1 ? "{n} step" : "{n} steps");
      return form.replace("{n}", String(count));
    }
  };
})();

(function () {
  "use strict";

  function openDialog(id) {
    var dialog = document.getElementById(id);
    if (dialog && typeof dialog.showModal === "function") {
      dialog.showModal();
      var first = dialog.querySelector("input:not([type=hidden]), select, textarea");
      if (first) { first.focus(); }
    }
  }

  // A form with data-confirm asks first, in one shared <dialog>.
  function confirmThen(form) {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      if (window.confirm(form.dataset.confirm)) { form.dataset.confirmed = "yes"; form.requestSubmit(); }
      return;
    }
    dialog.querySelector("[data-slot=title]").textContent = form.dataset.confirmTitle || panelWords.word("sure", "Are you sure?");
    dialog.querySelector("[data-slot=message]").textContent = form.dataset.confirm;
    dialog.querySelector("[data-slot=confirm]").textContent = form.dataset.confirmButton || panelWords.word("confirm", "Confirm");
    dialog.returnValue = "";
    dialog.onclose = function () {
      if (dialog.returnValue === "confirm") { form.dataset.confirmed = "yes"; form.requestSubmit(); }
    };
    dialog.showModal();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && form.dataset.confirmed !== "yes") {
      event.preventDefault();
      confirmThen(form);
    }
  });

  function addRow(fieldset) {
    var prefix = fieldset.dataset.prefix;
    var index = parseInt(fieldset.dataset.next || "0", 10);
    fieldset.dataset.next = String(index + 1);
    var template = fieldset.querySelector(":scope > template");
    var list = fieldset.querySelector(":scope > [data-rows-list]");
    var html = template.innerHTML.split(prefix + ".__new__").join(prefix + "." + index);
    list.insertAdjacentHTML("beforeend", html);
    var added = list.lastElementChild;
    var first = added && added.querySelector("input, select, textarea");
    if (first) { first.focus(); }
  }

  var zoom = 1;
  var LEGIBLE = 0.5;
  function applyZoom(svg) {
    svg.setAttribute("width", String(Math.round(svg.dataset.width * zoom)));
    svg.setAttribute("height", String(Math.round(svg.dataset.height * zoom)));
    var reset = document.querySelector("[data-zoom=reset]");
    if (reset) { reset.textContent = Math.round(zoom * 100) + "%"; }
  }

  function changeZoom(how) {
    var svg = document.querySelector("svg.tree");
    if (!svg) { return; }
    if (how === "in") { zoom = Math.min(zoom * 1.25, 2); }
    if (how === "out") { zoom = Math.max(zoom / 1.25, 0.2); }
    if (how === "reset") { zoom = 1; }
    if (how === "fit") {
      var box = document.querySelector("[data-tree-scroll]");
      var across = (box.clientWidth - 8) / svg.dataset.width;
      var down = (box.clientHeight - 8) / svg.dataset.height;
      // never below what can be read: a larger tree is travelled by dragging it, or
      // through its outline
      zoom = Math.max(Math.min(across, down, 1), LEGIBLE);
    }
    applyZoom(svg);
  }

  // drag the tree to move around it (pan), as on a map; a click on a box still opens it
  var dragging = null;
  document.addEventListener("pointerdown", function (event) {
    var box = event.target.closest && event.target.closest("[data-tree-scroll]");
    if (!box || event.button !== 0 || event.target.closest("a, button")) { return; }
    dragging = { box: box, x: event.clientX, y: event.clientY,
      left: box.scrollLeft, top: box.scrollTop };
    box.classList.add("panning");
  });
  document.addEventListener("pointermove", function (event) {
    if (!dragging) { return; }
    dragging.box.scrollLeft = dragging.left - (event.clientX - dragging.x);
    dragging.box.scrollTop = dragging.top - (event.clientY - dragging.y);
  });
  document.addEventListener("pointerup", function () {
    if (dragging) { dragging.box.classList.remove("panning"); }
    dragging = null;
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-open-dialog], [data-close-dialog], [data-add-row], [data-remove-row], [data-zoom]");
    if (!target) { return; }
    if (target.dataset.openDialog) {
      openDialog(target.dataset.openDialog);
    } else if (target.hasAttribute("data-close-dialog")) {
      target.closest("dialog").close();
    } else if (target.hasAttribute("data-add-row")) {
      addRow(target.closest("[data-rows]"));
    } else if (target.hasAttribute("data-remove-row")) {
      target.closest(".row-item").remove();
    } else if (target.dataset.zoom) {
      changeZoom(target.dataset.zoom);
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) {
      event.target.form.requestSubmit();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    // Bring the selected action into view in a large tree.
    var selected = document.querySelector("svg.tree .box.selected");
    var scroller = document.querySelector("[data-tree-scroll]");
    if (selected && scroller) {
      var box = selected.getBoundingClientRect();
      var frame = scroller.getBoundingClientRect();
      if (box.top < frame.top || box.bottom > frame.bottom || box.left < frame.left || box.right > frame.right) {
        scroller.scrollTop += box.top - frame.top - frame.height / 3;
        scroller.scrollLeft += box.left - frame.left - frame.width / 3;
      }
    }
  });
  // The simulator panel: "Restart" forgets the widget's visitor (a new conversation), and
  // the latest interaction's path is polled every second and highlighted in the tree.
  function simulatorKey(panel) { return "smart-routing:" + panel.dataset.entryPoint; }

  function restartSimulator(panel) {
    var key = simulatorKey(panel);
    try {
      window.localStorage.removeItem(key + ":visitor");
      window.localStorage.removeItem(key);
    } catch (error) { /* storage disabled: the reload still starts over the page */ }
    window.location.reload();
  }

  function highlightPath(path) {
    var ids = {};
    var pairs = {};
    path.forEach(function (id, index) {
      ids[id] = true;
      if (index > 0) { pairs[path[index - 1] + " " + id] = true; }
    });
    Array.prototype.forEach.call(document.querySelectorAll("svg.tree .box[data-action]"), function (box) {
      box.classList.toggle("on-path", !!ids[box.dataset.action]);
    });
    Array.prototype.forEach.call(document.querySelectorAll("svg.tree .edge[data-after]"), function (edge) {
      edge.classList.toggle("on-path", !!pairs[edge.dataset.after + " " + edge.dataset.before]);
    });
  }

  function showSimulation(panel, data) {
    highlightPath(data.path || []);
    var list = panel.querySelector("[data-sim-path]");
    var status = panel.querySelector("[data-sim-status]");
    if (status) {
      status.textContent = data.interaction ?
        (panelWords.steps(data.path.length) + " · " + data.status) :
        panelWords.word("waiting", "Waiting for a first message…");
    }
    if (list) {
      var text = (data.steps || []).join("\n");
      if (list.dataset.shown !== text) {
        list.dataset.shown = text;
        list.textContent = "";
        (data.steps || []).forEach(function (step) {
          var item = document.createElement("li");
          item.textContent = step;
          list.appendChild(item);
        });
      }
    }
  }

  function pollSimulation(panel) {
    var visitor = null;
    try { visitor = window.localStorage.getItem(simulatorKey(panel) + ":visitor"); } catch (error) { visitor = null; }
    var url = panel.dataset.simulation + (visitor ? "?visitor=" + encodeURIComponent(visitor) : "");
    window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { showSimulation(panel, data); } })
      .catch(function () { /* the next poll retries */ })
      .then(function () {
        if (document.body.contains(panel)) { window.setTimeout(function () { pollSimulation(panel); }, 1000); }
      });
  }

  document.addEventListener("click", function (event) {
    var restart = event.target.closest("[data-sim-restart]");
    if (restart) { restartSimulator(restart.closest("[data-simulation]")); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var panel = document.querySelector("[data-simulation]");
    if (panel) { pollSimulation(panel); }
  });
})();

// The value table grid: "Add a row" copies the form's <template> row into the table,
// "×" removes its row; the whole grid is saved by its form in one POST.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-grid-add]");
    if (add) {
      var form = add.closest("form");
      var template = form.querySelector("template[data-grid-template]");
      var body = form.querySelector("[data-grid-body]");
      if (!template || !body) { return; }
      body.appendChild(template.content.cloneNode(true));
      var first = body.lastElementChild && body.lastElementChild.querySelector("input[type=text]");
      if (first) { first.focus(); }
      return;
    }
    var remove = event.target.closest("[data-grid-remove]");
    if (remove) {
      var row = remove.closest("tr");
      if (row) { row.remove(); }
    }
  });
})();

// A live region (data-live-url): the conversation viewer polls its changing part while the
// conversation runs, swaps it in when a new event arrived, and stops once it has ended.
(function () {
  "use strict";

  function poll(region) {
    var every = parseInt(region.dataset.liveMs || "2000", 10);
    function tick() {
      fetch(region.dataset.liveUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) { return setTimeout(tick, every * 2); }
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector(".live-body");
          var current = region.querySelector(".live-body");
          if (fresh && (!current || fresh.dataset.seq !== current.dataset.seq ||
                        fresh.dataset.live !== current.dataset.live)) {
            region.replaceChildren.apply(region, Array.prototype.slice.call(holder.childNodes));
          }
          if (!fresh || fresh.dataset.live === "on") { setTimeout(tick, every); }
        })
        .catch(function () { setTimeout(tick, every * 2); });
    }
    setTimeout(tick, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-url]").forEach(poll);
  });

  // The action palette: the type <select> (kept for forms without script) becomes a
  // searchable list by category, each type with its one-line description; arrows move,
  // Enter picks, typing filters (case and accents ignored).
  function folded(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function palette(select) {
    var box = document.createElement("div");
    box.className = "palette";
    var search = document.createElement("input");
    search.type = "search";
    search.className = "palette-search";
    search.placeholder = panelWords.word("search", "Search the actions\u2026");
    search.setAttribute("aria-label", search.placeholder.replace(/\u2026$/, ""));
    search.setAttribute("data-testid", "palette-search");
    var list = document.createElement("div");
    list.className = "palette-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Actions");
    var items = [];
    Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
      var heading = document.createElement("p");
      heading.className = "palette-group";
      heading.textContent = group.label;
      list.appendChild(heading);
      Array.prototype.forEach.call(group.querySelectorAll("option"), function (option) {
        var item = document.createElement("button");
        item.type = "button";
        item.className = "palette-item";
        item.setAttribute("role", "option");
        item.setAttribute("data-type", option.value);
        var title = document.createElement("strong");
        title.textContent = option.textContent;
        var help = document.createElement("span");
        help.className = "palette-help";
        help.textContent = option.dataset.help || "";
        item.appendChild(title);
        item.appendChild(help);
        item.addEventListener("click", function () { choose(option.value); });
        item.dataset.words = folded(option.textContent + " " + (option.dataset.help || "") +
          " " + group.label + " " + option.value);
        item.heading = heading;
        list.appendChild(item);
        items.push(item);
      });
    });
    var active = 0;
    function shown() { return items.filter(function (item) { return !item.hidden; }); }
    function mark() {
      var visible = shown();
      items.forEach(function (item) { item.setAttribute("aria-selected", "false"); });
      if (visible.length) {
        active = Math.max(0, Math.min(active, visible.length - 1));
        visible[active].setAttribute("aria-selected", "true");
        visible[active].scrollIntoView({ block: "nearest" });
      }
    }
    function choose(value) {
      select.value = value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
    search.addEventListener("input", function () {
      var words = folded(search.value).split(/\s+/).filter(Boolean);
      items.forEach(function (item) {
        item.hidden = !words.every(function (word) { return item.dataset.words.indexOf(word) >= 0; });
      });
      Array.prototype.forEach.call(list.querySelectorAll(".palette-group"), function (heading) {
        heading.hidden = !items.some(function (item) { return item.heading === heading && !item.hidden; });
      });
      active = 0;
      mark();
    });
    search.addEventListener("keydown", function (event) {
      var visible = shown();
      if (event.key === "ArrowDown") { active += 1; mark(); event.preventDefault(); }
      else if (event.key === "ArrowUp") { active -= 1; mark(); event.preventDefault(); }
      else if (event.key === "Enter") {
        event.preventDefault();
        if (visible[active]) { choose(visible[active].dataset.type); }
      }
    });
    box.appendChild(search);
    box.appendChild(list);
    var field = select.closest(".field") || select;
    field.classList.add("visually-hidden");
    field.parentNode.insertBefore(box, field);
    mark();
    search.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.type-picker select[name=type]").forEach(function (select) {
      if (!select.value) { palette(select); }
    });
  });
})();
