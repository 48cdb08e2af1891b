// Shared by the dashboard and the API reference: the tokens the user chose, and calls to
// /_mock that carry them. Nothing is stored beyond this browser tab (sessionStorage).
"use strict";

const Mock = (() => {
  const root = new URL("../", document.baseURI.replace(/[^/]*$/, "")).pathname; // "/_mock/"
  const KEYS = { admin: "goevent-mock.admin-token", box: "goevent-mock.box" };

  const get = (key) => sessionStorage.getItem(KEYS[key]) || "";
  const set = (key, value) => {
    if (value) sessionStorage.setItem(KEYS[key], value);
    else sessionStorage.removeItem(KEYS[key]);
  };

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    const admin = get("admin");
    if (admin) h.Authorization = "Bearer " + admin;
    return h;
  }

  // A /_mock URL, naming the chosen sandbox with ?token= (the Authorization header carries
  // the admin token, so it cannot name the sandbox too).
  function url(path, params) {
    const u = new URL(root + path.replace(/^\//, ""), location.origin);
    const box = get("box");
    if (box) u.searchParams.set("token", box);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
    }
    return u.pathname + u.search;
  }

  async function call(method, path, body, params) {
    const init = { method, headers: headers() };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = typeof body === "string" ? body : JSON.stringify(body);
    }
    const r = await fetch(url(path, params), init);
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
    return { ok: r.ok, status: r.status, data };
  }

  // One banner for what went wrong. A refused action stays until the next action; a
  // failed read goes as soon as a read works again.
  let shown = "";
  function problem(message, source = "read") {
    const el = document.getElementById("problem");
    if (!el || (!message && shown && shown !== source)) return;
    shown = message ? source : "";
    el.hidden = !message;
    el.textContent = message || "";
  }

  // What a refused /_mock call means, in words.
  function explain(answer, what) {
    if (answer.status === 401 || answer.status === 403) {
      return `${what}: the fake refused the admin token (${answer.status}). ` +
        "Type the --admin-token the fake was started with in the field at the top.";
    }
    // The fake's Error shape: {"success": false, "code", "message", "field"}.
    const e = answer.data && typeof answer.data === "object" ? answer.data : {};
    const where = e.field ? ` (${e.field})` : "";
    return `${what}: ${answer.status} ${e.code || ""}: ${e.message || answer.data || ""}${where}`;
  }

  function esc(text) {
    return String(text === null || text === undefined ? "" : text)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  function bindAccess(onChange) {
    const admin = document.getElementById("admin-token");
    const form = document.getElementById("access");
    if (!admin || !form) return;
    admin.value = get("admin");
    form.addEventListener("submit", (e) => e.preventDefault());
    admin.addEventListener("change", () => { set("admin", admin.value.trim()); onChange(); });
  }

  return { root, get, set, headers, url, call, problem, explain, esc, bindAccess };
})();
