// The dsgen serve console: an explorer for the served GraphQL API, the
// stored data with its sync metadata, and the live mutation stream. It talks
// to /graphql and /graphql/realtime like any client, and to the console's
// admin API under /console/api/.
import { EditorView, basicSetup } from "codemirror";
import { keymap } from "@codemirror/view";
import { Prec } from "@codemirror/state";
import { json } from "@codemirror/lang-json";
import { graphql as graphqlExtension, updateSchema } from "cm6-graphql";
import {
  buildClientSchema, getIntrospectionQuery, parse, print, getOperationAST,
  getNamedType, isLeafType, isObjectType, isInputObjectType, isEnumType,
} from "graphql";
import { Realtime } from "./realtime.js";

const $ = (id) => document.getElementById(id);
const STORE_KEY = "dsgen-console-auth";

const DEFAULT_QUERY = `# Write a query, mutation or subscription; Ctrl-Space completes,
# Ctrl-Enter runs. A subscription's events stream into the result.
query {
  __typename
}
`;

const state = {
  config: { devAuth: false, authModes: [] },
  auth: loadAuth(),
  schema: null,
  models: [],
  live: null, // Realtime of the Live tab
  explorerRT: null, // Realtime of a subscription run from the explorer
  dataCursor: null,
  dataSeq: 0,
  pollTimer: 0,
  events: 0,
};

function loadAuth() {
  try {
    const a = JSON.parse(localStorage.getItem(STORE_KEY) || "{}");
    return { mode: a.mode === "jwt" ? "jwt" : "apiKey", apiKey: a.apiKey || "", token: a.token || "" };
  } catch {
    return { mode: "apiKey", apiKey: "", token: "" };
  }
}

function saveAuth() {
  localStorage.setItem(STORE_KEY, JSON.stringify(state.auth));
}

// authHeaders are the credentials every request of the page carries.
function authHeaders() {
  const a = state.auth;
  if (a.mode === "jwt" && a.token) return { Authorization: a.token };
  if (a.mode === "apiKey" && a.apiKey) return { "x-api-key": a.apiKey };
  return {};
}

function setStatus(msg, isError) {
  const el = $("status");
  el.textContent = msg;
  el.classList.toggle("error", !!isError);
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c != null) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

async function postGraphQL(query, variables, operationName) {
  const res = await fetch("/graphql", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...authHeaders() },
    body: JSON.stringify({ query, variables, operationName }),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: { errors: [{ message: text }] } };
  }
}

async function api(path, init) {
  const res = await fetch("/console/api/" + path, { ...init, headers: { ...(init && init.headers), ...authHeaders() } });
  const body = await res.json().catch(() => ({ error: res.statusText }));
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

// ---- identity ----

function whoami() {
  const a = state.auth;
  if (a.mode === "apiKey") return a.apiKey ? "API key" : "no credentials";
  try {
    const payload = JSON.parse(atob(a.token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    const user = payload.username || payload["cognito:username"] || payload.sub;
    const groups = payload["cognito:groups"] || [];
    return "JWT " + user + (groups.length ? " [" + groups.join(", ") + "]" : "");
  } catch {
    return a.token ? "JWT (unreadable)" : "no credentials";
  }
}

function showAuthInputs() {
  $("auth-mode").value = state.auth.mode;
  $("api-key").hidden = state.auth.mode !== "apiKey";
  $("jwt").hidden = state.auth.mode !== "jwt";
  $("api-key").value = state.auth.apiKey;
  $("jwt").value = state.auth.token;
}

async function applyAuth() {
  saveAuth();
  showAuthInputs();
  $("whoami").textContent = whoami();
  await loadSchema();
  restartLive();
  if (!$("data").hidden) loadModels();
}

async function devSignIn() {
  const username = $("dev-user").value.trim();
  const groups = $("dev-groups").value.split(",").map((g) => g.trim()).filter(Boolean);
  try {
    const res = await fetch("/console/api/dev-token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, groups }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error || res.statusText);
    state.auth.mode = "jwt";
    state.auth.token = body.token;
    setStatus("signed in as " + username + (groups.length ? " in " + groups.join(", ") : ""));
    await applyAuth();
  } catch (e) {
    setStatus("dev sign-in failed: " + e.message, true);
  }
}

// ---- explorer ----

let queryEditor, varsEditor;

function makeEditors() {
  const run = Prec.highest(keymap.of([{ key: "Mod-Enter", run: () => { runOperation(); return true; } }]));
  queryEditor = new EditorView({
    doc: localStorage.getItem("dsgen-console-query") || DEFAULT_QUERY,
    extensions: [basicSetup, run, graphqlExtension(undefined, { onShowInDocs: (field, type, parent) => showDocs(parent || type, field) }),
      EditorView.updateListener.of((u) => { if (u.docChanged) localStorage.setItem("dsgen-console-query", u.state.doc.toString()); })],
    parent: $("query-editor"),
  });
  varsEditor = new EditorView({
    doc: localStorage.getItem("dsgen-console-vars") || "{}",
    extensions: [basicSetup, run, json(),
      EditorView.updateListener.of((u) => { if (u.docChanged) localStorage.setItem("dsgen-console-vars", u.state.doc.toString()); })],
    parent: $("vars-editor"),
  });
}

async function loadSchema() {
  if (!Object.keys(authHeaders()).length) {
    setStatus("give an API key or a JWT (or a dev identity) to load the API", true);
    return;
  }
  const { status, body } = await postGraphQL(getIntrospectionQuery());
  if (body.errors || !body.data) {
    setStatus("loading the API failed (HTTP " + status + "): " + (body.errors || []).map((e) => e.message).join("; "), true);
    return;
  }
  state.schema = buildClientSchema(body.data);
  updateSchema(queryEditor, state.schema);
  renderDocs();
  setStatus("API loaded: " + Object.keys(state.schema.getTypeMap()).filter((n) => !n.startsWith("__")).length + " types");
}

function setResult(value, meta) {
  $("result").textContent = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  $("result-meta").textContent = meta || "";
}

async function runOperation() {
  const query = queryEditor.state.doc.toString();
  let variables;
  try {
    variables = JSON.parse(varsEditor.state.doc.toString() || "{}");
  } catch (e) {
    setResult("variables are not JSON: " + e.message, "error");
    return;
  }
  let op;
  try {
    op = getOperationAST(parse(query));
  } catch (e) {
    setResult("syntax error: " + e.message, "error");
    return;
  }
  stopExplorerSubscription();
  if (op && op.operation === "subscription") {
    runSubscription(query, variables);
    return;
  }
  const t0 = performance.now();
  setResult("…", "running");
  const { status, body } = await postGraphQL(query, variables);
  setResult(body, "HTTP " + status + " in " + Math.round(performance.now() - t0) + " ms");
}

function runSubscription(query, variables) {
  const lines = [];
  const rt = new Realtime(authHeaders(), (s) => { $("result-meta").textContent = "subscription: " + s; });
  state.explorerRT = rt;
  $("stop").hidden = false;
  setResult("waiting for events…", "subscription: connecting");
  rt.subscribe(query, variables, {
    ack: () => { $("result-meta").textContent = "subscription: listening"; },
    data: (payload) => {
      lines.unshift(JSON.stringify(payload, null, 2));
      setResult(lines.slice(0, 50).join("\n\n"), "subscription: " + lines.length + (lines.length === 1 ? " event" : " events"));
    },
    error: (errors) => setResult({ errors }, "subscription refused"),
  });
}

function stopExplorerSubscription() {
  if (state.explorerRT) state.explorerRT.close();
  state.explorerRT = null;
  $("stop").hidden = true;
}

function prettify() {
  try {
    const text = print(parse(queryEditor.state.doc.toString()));
    queryEditor.dispatch({ changes: { from: 0, to: queryEditor.state.doc.length, insert: text + "\n" } });
  } catch (e) {
    setStatus("cannot prettify: " + e.message, true);
  }
}

// ---- docs ----

function typeLink(t) {
  const named = getNamedType(t);
  const a = el("a", { onclick: () => showDocs(named.name) }, named.name);
  const s = String(t);
  const i = s.indexOf(named.name);
  return el("span", {}, s.slice(0, i), a, s.slice(i + named.name.length));
}

function renderDocs(filter) {
  const docs = $("docs");
  docs.replaceChildren();
  const s = state.schema;
  if (!s) return;
  const f = (filter || "").toLowerCase();
  const roots = [s.getQueryType(), s.getMutationType(), s.getSubscriptionType()].filter(Boolean);
  for (const root of roots) {
    const fields = Object.values(root.getFields()).filter((fd) => !f || fd.name.toLowerCase().includes(f));
    if (!fields.length) continue;
    docs.append(el("h3", {}, root.name));
    for (const fd of fields) docs.append(fieldDoc(fd));
  }
  const types = Object.values(s.getTypeMap()).filter((t) => !t.name.startsWith("__") && !roots.includes(t) && (!f || t.name.toLowerCase().includes(f)));
  if (types.length) {
    docs.append(el("h3", {}, "Types"));
    for (const t of types) docs.append(el("div", { class: "field" }, el("a", { onclick: () => showDocs(t.name) }, t.name)));
  }
}

function fieldDoc(fd) {
  const args = (fd.args || []).length ? el("span", {}, "(", ...fd.args.flatMap((a, i) => [i ? ", " : "", a.name + ": ", typeLink(a.type)]), ")") : "";
  return el("div", { class: "field" }, el("b", {}, fd.name), args, ": ", typeLink(fd.type),
    fd.description ? el("div", { class: "desc" }, fd.description) : null);
}

function showDocs(typeName, fieldName) {
  const t = state.schema && typeName && state.schema.getType(typeName);
  if (!t) return;
  const docs = $("docs");
  docs.replaceChildren(el("a", { onclick: () => renderDocs($("docs-search").value) }, "← all"), el("h3", {}, t.name));
  if (t.description) docs.append(el("div", { class: "desc" }, t.description));
  if (isObjectType(t) || isInputObjectType(t)) {
    for (const fd of Object.values(t.getFields())) {
      const d = fieldDoc(fd);
      if (fd.name === fieldName) d.classList.add("selected");
      docs.append(d);
    }
  } else if (isEnumType(t)) {
    for (const v of t.getValues()) docs.append(el("div", { class: "field" }, v.name));
  }
}

// ---- data ----

async function loadModels() {
  try {
    const { models } = await api("models");
    state.models = models;
    const sel = $("model");
    const keep = sel.value;
    sel.replaceChildren(...models.map((m) => el("option", { value: m.name }, m.name + (m.strategy ? " (" + m.strategy + ")" : ""))));
    if (keep && models.some((m) => m.name === keep)) sel.value = keep;
    await loadRecords(false);
  } catch (e) {
    setStatus("data: " + e.message, true);
    $("records").tBodies[0].replaceChildren();
  }
}

async function loadRecords(more) {
  const model = $("model").value;
  if (!model) return;
  const params = new URLSearchParams({ model, limit: "50", q: $("filter-q").value, owner: $("filter-owner").value, deleted: $("filter-deleted").value });
  if (more && state.dataCursor) params.set("cursor", state.dataCursor);
  const body = $("records").tBodies[0];
  // Only the latest request renders: a slower earlier one (another model,
  // other filters) must not add its rows.
  const seq = ++state.dataSeq;
  try {
    const page = await api("records?" + params);
    if (seq !== state.dataSeq) return;
    if (!more) {
      body.replaceChildren();
      $("history").replaceChildren();
    }
    for (const r of page.records) body.append(recordRow(model, r));
    state.dataCursor = page.next || null;
    $("more").hidden = !page.next;
    $("data-meta").textContent = body.rows.length + " shown, " + page.scanned + " read" + (page.next ? ", more follow" : "");
  } catch (e) {
    setStatus("data: " + e.message, true);
  }
}

function fmtTime(ms) {
  return ms ? new Date(ms).toISOString().replace("T", " ").replace("Z", "") : "";
}

function recordRow(model, r) {
  const tr = el("tr", { class: r._deleted ? "deleted" : "" },
    el("td", {}, el("a", { onclick: () => { selectRow(tr); loadHistory(model, r.key); } }, JSON.stringify(r.key))),
    el("td", {}, r._version),
    el("td", { title: String(r._lastChangedAt) }, fmtTime(r._lastChangedAt)),
    el("td", {}, r._deleted ? "deleted" : ""),
    el("td", {}, r.owner.join(", ")),
    el("td", { class: "item", title: JSON.stringify(r.item, null, 2) }, JSON.stringify(r.item)));
  return tr;
}

function selectRow(tr) {
  for (const r of tr.parentNode.rows) r.classList.remove("selected");
  tr.classList.add("selected");
}

async function loadHistory(model, key) {
  const box = $("history");
  box.replaceChildren(el("h3", {}, "History of " + model + " " + JSON.stringify(key)));
  try {
    const h = await api("history?" + new URLSearchParams({ model, key: JSON.stringify(key) }));
    if (!h.changes.length) box.append(el("p", { class: "hint" }, "no change of this record is left in the change log (entries are kept --delta-ttl)"));
    for (const c of h.changes) {
      box.append(el("div", {}, el("b", {}, c.op), " v" + c._version + " at " + fmtTime(c._lastChangedAt) + " (seq " + c.seq + ")",
        el("pre", {}, JSON.stringify(c.item, null, 2))));
    }
  } catch (e) {
    box.append(el("p", { class: "hint" }, e.message));
  }
}

// ---- live ----

// selection lists the leaf fields of an object type, for subscriptions.
function selection(type) {
  const names = Object.values(type.getFields()).filter((f) => isLeafType(getNamedType(f.type)) && !(f.args || []).length).map((f) => f.name);
  return names.length ? names.join(" ") : "__typename";
}

function restartLive() {
  if (state.live) state.live.close();
  state.live = null;
  const s = state.schema;
  const sub = s && s.getSubscriptionType();
  if (!sub) return;
  const rt = new Realtime(authHeaders(), (st) => { $("live-status").textContent = st; });
  state.live = rt;
  const refused = [];
  for (const f of Object.values(sub.getFields()).slice(0, 99)) {
    const t = getNamedType(f.type);
    if (!isObjectType(t)) continue;
    const query = "subscription { " + f.name + " { " + selection(t) + " } }";
    rt.subscribe(query, {}, {
      data: (payload) => addEvent(f.name, payload && payload.data && payload.data[f.name]),
      error: (errors) => {
        refused.push(f.name + ": " + errors.map((e) => e.errorType || e.message).join(", "));
        $("live-status").title = refused.join("\n");
        $("live-status").textContent = "listening; " + refused.length + " subscriptions refused for this identity";
      },
    });
  }
}

function addEvent(field, item) {
  if (!item) return;
  state.events++;
  const op = /^onCreate/.test(field) ? "create" : /^onUpdate/.test(field) ? "update" : "delete";
  const model = field.replace(/^on(Create|Update|Delete)/, "");
  const li = el("li", { class: "event" },
    el("span", { class: "op " + op }, op), " ", el("b", {}, model), " ",
    el("code", {}, JSON.stringify(item)), " ",
    el("span", { class: "hint" }, "v" + item._version + " " + fmtTime(item._lastChangedAt)));
  const list = $("events");
  list.prepend(li);
  while (list.children.length > 500) list.lastChild.remove();
}

async function pollLive() {
  if ($("live").hidden) return;
  try {
    const { clients } = await api("clients");
    $("clients").tBodies[0].replaceChildren(...clients.map((c) => el("tr", {},
      el("td", {}, c.id), el("td", {}, c.who), el("td", {}, c.remote), el("td", {}, fmtTime(Date.parse(c.opened))),
      el("td", {}, c.subscriptions.map((s) => s.field + (s.args && Object.keys(s.args).length ? JSON.stringify(s.args) : "")).join(", ")))));
    $("clients-meta").textContent = clients.length + " connected";
    const { conflicts } = await api("conflicts");
    $("conflicts").tBodies[0].replaceChildren(...conflicts.slice().reverse().map((c) => el("tr", { title: JSON.stringify({ incoming: c.incoming, server: c.server, result: c.result, error: c.error }, null, 2) },
      el("td", {}, fmtTime(Date.parse(c.at))), el("td", {}, c.field), el("td", {}, JSON.stringify(c.key)), el("td", {}, c.strategy),
      el("td", {}, c.resolution), el("td", {}, c.clientVersion + " → " + c.serverVersion), el("td", {}, c.who))));
    $("conflicts-meta").textContent = conflicts.length + " recent";
  } catch (e) {
    $("clients-meta").textContent = e.message;
  }
}

// ---- tabs and start ----

function showTab(name) {
  for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t.dataset.tab === name);
  for (const p of ["explorer", "data", "live"]) $(p).hidden = p !== name;
  if (name === "data") loadModels();
  if (name === "live") pollLive();
}

async function start() {
  makeEditors();
  showAuthInputs();
  $("whoami").textContent = whoami();
  for (const t of document.querySelectorAll(".tab")) t.addEventListener("click", () => showTab(t.dataset.tab));
  $("auth-mode").addEventListener("change", () => { state.auth.mode = $("auth-mode").value; showAuthInputs(); });
  $("auth-apply").addEventListener("click", () => {
    state.auth.apiKey = $("api-key").value.trim();
    state.auth.token = $("jwt").value.trim().replace(/^bearer\s+/i, "");
    applyAuth();
  });
  $("dev-signin").addEventListener("click", devSignIn);
  $("run").addEventListener("click", runOperation);
  $("stop").addEventListener("click", stopExplorerSubscription);
  $("prettify").addEventListener("click", prettify);
  $("docs-search").addEventListener("input", () => renderDocs($("docs-search").value));
  $("model").addEventListener("change", () => loadRecords(false));
  $("data-load").addEventListener("click", () => loadRecords(false));
  $("more").addEventListener("click", () => loadRecords(true));
  $("live-clear").addEventListener("click", () => $("events").replaceChildren());
  state.pollTimer = setInterval(pollLive, 2000);
  try {
    state.config = await api("config");
  } catch (e) {
    setStatus("console config: " + e.message, true);
  }
  $("dev").hidden = !state.config.devAuth;
  await applyAuth();
  document.body.dataset.ready = "true";
}

// A scripting hook for tests and the browser's devtools.
window.dsgenConsole = {
  get queryEditor() { return queryEditor; },
  get varsEditor() { return varsEditor; },
  setQuery(text) { queryEditor.dispatch({ changes: { from: 0, to: queryEditor.state.doc.length, insert: text } }); },
  setVariables(text) { varsEditor.dispatch({ changes: { from: 0, to: varsEditor.state.doc.length, insert: text } }); },
  run: runOperation,
};

start();
