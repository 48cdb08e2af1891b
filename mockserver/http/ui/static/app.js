// The dashboard: Data, Traffic and Controls, each a view of one page chosen by the URL hash.
// Everything comes from the fake's /_mock endpoints, polled while the view is shown.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const { esc } = Mock;
  const POLL_MS = 1000;
  const PAGE = 20;
  const FEED_MAX = 500;

  // -- views -------------------------------------------------------------------

  function view() {
    const name = (location.hash || "#data").slice(1);
    return ["data", "traffic", "controls"].includes(name) ? name : "data";
  }

  function show() {
    const current = view();
    for (const section of document.querySelectorAll("main > section")) {
      section.hidden = section.dataset.view !== current;
    }
    for (const link of document.querySelectorAll("nav a[data-view]")) {
      if (link.dataset.view === current) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    document.title = `${current[0].toUpperCase()}${current.slice(1)} · goevent-mock`;
    tick();
  }

  // -- data --------------------------------------------------------------------

  const data = { state: null, text: "", organizer: "", event: "", page: 1, search: "", paused: false };

  // /_mock/state is the whole data set: a big one (events of 100,000s of participants) costs
  // the fake real time to write out, so the refresh backs off to ten times what it took.
  const BIG = 5e6; // characters of state beyond which live refresh waits for the button
  let nextStateAt = 0;

  async function loadState(forced) {
    if (!forced && (Date.now() < nextStateAt || data.paused)) return;
    const started = Date.now();
    const answer = await Mock.call("GET", "state", undefined, { links: "true" });
    if (!answer.ok) { Mock.problem(Mock.explain(answer, "Reading the data")); return; }
    Mock.problem("");
    nextStateAt = Date.now() + 10 * (Date.now() - started);
    const text = JSON.stringify(answer.data);
    data.paused = text.length > BIG;
    $("data-refresh").hidden = !data.paused;
    if (text === data.text) return;
    data.text = text;
    data.state = answer.data;
    renderData();
  }

  function renderData() {
    const s = data.state;
    if (!s) return;
    const orgSelect = $("organizer");
    if (!s.organizers.some((o) => o.id === data.organizer)) data.organizer = s.organizers[0]?.id || "";
    orgSelect.innerHTML = s.organizers.map((o) =>
      `<option value="${esc(o.id)}"${o.id === data.organizer ? " selected" : ""}>` +
      `${esc(o.name)} (token ${esc(o.token)})</option>`).join("");
    const events = s.events.filter((e) => e.organizerId === data.organizer);
    $("data-summary").textContent =
      `${s.organizers.length} organizer(s), ${s.events.length} event(s), ${s.orders.length} order(s)` +
      (data.paused ? " · a big data set: live refresh paused" : "");
    if (!events.some((e) => e.id === data.event)) data.event = "";
    $("events").innerHTML = events.map((e) => {
      const left = e.tickets.reduce((n, t) => n + t.quantity, 0);
      return `<li><button type="button" data-event="${esc(e.id)}"` +
        `${e.id === data.event ? ' aria-pressed="true"' : ' aria-pressed="false"'}>` +
        `<strong>${esc(e.name)}</strong><span class="muted">${esc(e.dateStart.slice(0, 10))}` +
        ` · ${left} left${e.publish ? "" : " · unpublished"}</span></button></li>`;
    }).join("") || '<li class="muted">No events.</li>';
    renderEvent();
  }

  function renderEvent() {
    const box = $("event");
    const e = data.state && data.state.events.find((x) => x.id === data.event);
    if (!e) { box.innerHTML = '<p class="muted">Choose an event.</p>'; return; }
    const needle = data.search.toLowerCase();
    const people = e.participants.filter((p) => !needle ||
      [p.first_name, p.last_name, p.email, p.phone, p.id].join(" ").toLowerCase().includes(needle));
    const pages = Math.max(1, Math.ceil(people.length / PAGE));
    data.page = Math.min(Math.max(1, data.page), pages);
    const shown = people.slice((data.page - 1) * PAGE, data.page * PAGE);
    const orders = data.state.orders.filter((o) => o.eventId === e.id);
    const names = Object.fromEntries(e.participants.map((p) => [p.id, `${p.first_name} ${p.last_name}`]));
    // A live update re-draws the pane: the keyboard focus stays on the same control.
    const active = box.contains(document.activeElement) ? document.activeElement : null;
    const refocus = active && active.id ? `#${active.id}` : null;
    box.innerHTML = `
      <h3 id="event-title">${esc(e.name)}</h3>
      <p class="muted">${esc(e.id)} · ${esc(e.location || "")} · ${esc(e.dateStart)} → ${esc(e.dateEnd)}</p>
      <div class="scroll"><table class="grid" id="tickets"><caption>Ticket types</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">ID</th><th scope="col" class="num">Left</th></tr></thead>
        <tbody>${e.tickets.map((t) => `<tr data-ticket-id="${esc(t.id)}"><td>${esc(t.name)}</td>` +
          `<td><code>${esc(t.id)}</code></td><td class="num remaining">${t.quantity}</td></tr>`).join("")}</tbody>
      </table></div>
      <h4>Participants (${people.length}${needle ? ` of ${e.participants.length}` : ""})</h4>
      <div class="row">
        <label>Search <input id="p-search" type="search" value="${esc(data.search)}" placeholder="name, email, phone"></label>
        <button type="button" id="p-prev" data-page="${data.page - 1}"${data.page <= 1 ? " disabled" : ""}>Previous</button>
        <span>page ${data.page} of ${pages}</span>
        <button type="button" id="p-next" data-page="${data.page + 1}"${data.page >= pages ? " disabled" : ""}>Next</button>
      </div>
      <div class="scroll"><table class="grid" id="participants"><caption class="sr">Participants</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Phone</th>
          <th scope="col">Confirmed</th><th scope="col">Created</th></tr></thead>
        <tbody>${shown.map((p) => `<tr><td>${esc(p.first_name)} ${esc(p.last_name)}</td>` +
          `<td>${esc(p.email)}</td><td>${esc(p.phone)}</td><td>${p.confirmed ? "yes" : "no"}</td>` +
          `<td>${esc(p.created)}</td></tr>`).join("")}</tbody></table></div>
      <h4>Orders (${orders.length})</h4>
      <ul class="orders" id="orders">${orders.map((o) => `<li><code>${esc(o.id)}</code> ·
        ${esc(o.created)} · ${o.participantId ? esc(names[o.participantId] || o.participantId) : "no participant"}
        <ul>${o.lines.map((l) => `<li>${l.quantity} × ${esc(l.name)}` +
          (l.url ? ` · <a href="${esc(l.url)}" target="_blank" rel="noopener">ticket PDF</a>` : "") +
          "</li>").join("")}</ul></li>`).join("") || '<li class="muted">No orders yet.</li>'}</ul>`;
    const search = $("p-search");
    if (data.searching) {
      search.focus();
      search.setSelectionRange(search.value.length, search.value.length);
    } else if (refocus) {
      const again = box.querySelector(refocus);
      if (again && !again.disabled) again.focus();
    }
  }

  $("data-refresh").addEventListener("click", () => loadState(true));
  $("organizer").addEventListener("change", (e) => {
    data.organizer = e.target.value; data.event = ""; renderData();
  });
  $("events").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-event]");
    if (!button) return;
    data.event = button.dataset.event; data.page = 1; data.search = "";
    renderData();
    $("event-title")?.setAttribute("tabindex", "-1");
    $("event-title")?.focus();
  });
  $("event").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-page]");
    if (!button) return;
    data.page = Number(button.dataset.page); data.searching = false; renderEvent();
    if (button.id && !$(button.id).disabled) $(button.id).focus();
  });
  $("event").addEventListener("input", (e) => {
    if (e.target.id !== "p-search") return;
    data.search = e.target.value; data.page = 1; data.searching = true; renderEvent();
  });
  $("event").addEventListener("focusout", (e) => {
    if (e.target.id === "p-search") data.searching = false;
  });

  // -- traffic -----------------------------------------------------------------

  const traffic = { since: 0, entries: [], operations: new Set() };

  async function loadJournal() {
    if (!$("f-live").checked) return;
    const answer = await Mock.call("GET", "journal", undefined, { since: traffic.since });
    if (!answer.ok) { Mock.problem(Mock.explain(answer, "Reading the journal")); return; }
    Mock.problem("");
    const fresh = answer.data.entries;
    if (!fresh.length) { summary(answer.data); return; }
    traffic.since = fresh[fresh.length - 1].seq;
    traffic.entries.push(...fresh);
    traffic.entries.splice(0, Math.max(0, traffic.entries.length - FEED_MAX));
    for (const entry of fresh) addOperation(entry.operationId);
    renderFeed(fresh);
    summary(answer.data);
  }

  function summary(journal) {
    $("traffic-summary").textContent = `${traffic.entries.length} shown` +
      (journal.dropped ? ` · ${journal.dropped} dropped by the journal (max ${journal.max})` : "");
  }

  function addOperation(op) {
    if (traffic.operations.has(op)) return;
    traffic.operations.add(op);
    const option = document.createElement("option");
    option.value = option.textContent = op;
    $("f-operation").append(option);
  }

  function passes(entry) {
    const op = $("f-operation").value;
    const status = $("f-status").value;
    if (op && entry.operationId !== op) return false;
    if (status === "dropped") return entry.status === null;
    return !status || (entry.status !== null && String(entry.status)[0] === status);
  }

  function statusClass(status) {
    if (status === null) return "s-dropped";
    return `s-${String(status)[0]}xx`;
  }

  function entryHtml(e) {
    const query = Object.keys(e.query || {}).length
      ? "?" + new URLSearchParams(Object.entries(e.query).flatMap(([k, v]) =>
        Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v]])).toString() : "";
    return `<details><summary>
        <span class="status ${statusClass(e.status)}">${e.status === null ? "dropped" : e.status}</span>
        <span class="method">${esc(e.method)}</span> <span class="path">${esc(e.path + query)}</span>
        <span class="op">${esc(e.operationId)}</span>
        <span class="muted">#${e.seq} · ${esc(e.time.slice(11, 23))} · ${e.durationMs} ms</span>
        ${e.fault ? `<span class="fault">${esc(e.fault)}</span>` : ""}
      </summary>
      <div class="exchange">
        <div><h4>Request</h4>
          <pre>${esc(`${e.method} ${e.path}${query}\nAuthorization: ${e.authorization || "(none)"}`)}${
            e.body === null ? "" : "\n\n" + esc(JSON.stringify(e.body, null, 2))}</pre></div>
        <div><h4>Answer</h4>
          <pre>${esc(`status ${e.status === null ? "none: connection dropped" : e.status}
time (fake clock) ${e.time}
duration ${e.durationMs} ms
fault ${e.fault || "none"}
idempotent replay ${e.replayed ? "yes" : "no"}`)}</pre></div>
      </div></details>`;
  }

  function renderFeed(fresh) {
    const feed = $("feed");
    if (!fresh) {
      feed.innerHTML = "";
      fresh = traffic.entries;
    }
    for (const entry of fresh) {
      if (!passes(entry)) continue;
      const li = document.createElement("li");
      li.dataset.seq = entry.seq;
      li.dataset.operation = entry.operationId;
      li.dataset.status = entry.status === null ? "dropped" : entry.status;
      li.innerHTML = entryHtml(entry);
      feed.prepend(li);
    }
    while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
  }

  $("f-operation").addEventListener("change", () => renderFeed());
  $("f-status").addEventListener("change", () => renderFeed());
  $("journal-clear").addEventListener("click", async () => {
    const answer = await Mock.call("DELETE", "journal");
    Mock.problem(answer.ok ? "" : Mock.explain(answer, "Clearing the journal"), "action");
    if (!answer.ok) return;
    traffic.entries = [];
    renderFeed();
    summary({ dropped: 0 });
  });

  // -- controls ----------------------------------------------------------------

  function effect(what, answer) {
    $("effect").textContent = `${what} → ${answer.status}\n${JSON.stringify(answer.data, null, 2)}`;
    Mock.problem(answer.ok ? "" : Mock.explain(answer, what), "action");
  }

  async function loadControls() {
    const [faults, limit, clock] = await Promise.all([
      Mock.call("GET", "faults"), Mock.call("GET", "ratelimit"), Mock.call("GET", "clock")]);
    if (!faults.ok) { Mock.problem(Mock.explain(faults, "Reading the faults")); return; }
    Mock.problem("");
    $("faults").innerHTML = faults.data.rules.map((r) =>
      `<tr><td><code>${esc(r.rule)}</code></td><td class="num">${r.fired}</td></tr>`).join("") ||
      '<tr><td colspan="2" class="muted">No faults: every answer is the real one.</td></tr>';
    $("ratelimit-now").textContent = limit.ok && limit.data.enabled
      ? `In force: ${limit.data.limit} per ${limit.data.window} (${limit.data.mode}), per token.`
      : "No rate limit.";
    $("clock-now").textContent = clock.ok
      ? `Now ${clock.data.now}${clock.data.frozen ? " (frozen)" : ""}, ` +
        `${clock.data.offsetSeconds} s from the real time.` : "";
  }

  async function act(what, method, path, body) {
    const answer = await Mock.call(method, path, body);
    effect(what, answer);
    data.text = "";
    await Promise.all([loadControls(), loadState(true)]);
    return answer;
  }

  $("c-reset").addEventListener("submit", (e) => {
    e.preventDefault(); act("Reset", "POST", "reset");
  });
  $("c-fixture").addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = $("fixture-file").files[0];
    if (!file) return;
    act(`Load ${file.name}`, "POST", "fixtures", await file.text());
  });
  $("c-fault").addEventListener("submit", (e) => {
    e.preventDefault();
    const rule = { operation: $("fault-operation").value };
    if ($("fault-status").value) rule.status = Number($("fault-status").value);
    if ($("fault-latency").value.trim()) rule.latency = $("fault-latency").value.trim();
    if ($("fault-rate").value) rule.rate = Number($("fault-rate").value);
    if ($("fault-drop").checked) rule.drop = true;
    act("Add fault", "POST", "faults", rule);
  });
  $("faults-clear").addEventListener("click", () => act("Remove all faults", "DELETE", "faults"));
  $("c-ratelimit").addEventListener("submit", (e) => {
    e.preventDefault();
    act("Set the rate limit", "PUT", "ratelimit",
      { limit: Number($("rl-limit").value), window: $("rl-window").value.trim(), mode: $("rl-mode").value });
  });
  $("rl-off").addEventListener("click", () => act("Remove the rate limit", "DELETE", "ratelimit"));
  $("c-clock").addEventListener("submit", (e) => {
    e.preventDefault();
    act("Advance the clock", "POST", "clock", { advance: Number($("clock-advance").value) });
  });
  $("clock-freeze").addEventListener("click", () => act("Freeze the clock", "POST", "clock", { freeze: true }));
  $("clock-unfreeze").addEventListener("click", () => act("Unfreeze the clock", "POST", "clock", { unfreeze: true }));

  // -- start -------------------------------------------------------------------

  async function loadOperations() {
    const r = await fetch("openapi.json", { headers: Mock.headers() });
    if (!r.ok) return;
    const spec = await r.json();
    const ops = [];
    for (const item of Object.values(spec.paths)) {
      for (const op of Object.values(item)) if (op && op.operationId) ops.push(op.operationId);
    }
    for (const op of [...new Set(ops)].sort()) {
      addOperation(op);
      const option = document.createElement("option");
      option.value = option.textContent = op;
      $("fault-operation").append(option);
    }
  }

  let busy = false;
  async function tick() {
    if (busy) return;
    busy = true;
    try {
      const current = view();
      if (current === "data") await loadState();
      else if (current === "traffic") await loadJournal();
      else await loadControls();
    } catch (err) {
      Mock.problem(`The fake did not answer: ${err.message}. Is it still running?`);
    } finally {
      busy = false;
    }
  }

  function restart() {
    data.text = ""; nextStateAt = 0; data.paused = false; traffic.since = 0; traffic.entries = []; renderFeed(); tick();
  }

  Mock.bindAccess(restart);
  const boxInput = $("box");
  boxInput.value = Mock.get("box");
  boxInput.addEventListener("change", () => { Mock.set("box", boxInput.value.trim()); restart(); });
  window.addEventListener("hashchange", show);
  loadOperations().catch(() => {});
  show();
  setInterval(() => { if (!document.hidden) tick(); }, POLL_MS);
})();
