// The DNS lookups page: the filters live in the form and the URL (the API's own parameter names), every panel asks
// the collector API on its own, so none waits for another.
"use strict";

const TOKEN_KEY = "dnsflow.token";
const FILTERS = ["dnsId", "dnsName", "rcode", "minLatencyMs", "client", "comm", "server", "errors", "errno", "since", "until", "serverSource"];
const PAGE = 50;
const esc = Charts.esc;

const form = document.getElementById("filters");
const statusLine = document.getElementById("status");
const state = { tab: "lookups", sort: "time", offset: 0, open: null, live: false, rendering: 0 };
let liveTimer = null;

// --- filters and the URL ----------------------------------------------------------------------------------------

function filters() {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function setFilter(name, value) {
  form.elements[name].value = value ?? "";
}

// A range that is none of the select's own (brushed, or from a shared link) shows as one more option.
function showRange(since, until) {
  const option = form.elements.since.querySelector("option[data-custom]") || form.elements.since.querySelector('option[value="custom"]');
  option.dataset.custom = "1";
  option.value = since;
  option.hidden = false;
  const label = t => (/^\d+$/.test(t) ? time(+t) : t);
  option.textContent = until ? `${label(since)} – ${label(until)}` : `since ${label(since)}`;
  form.elements.since.value = since;
  setFilter("until", until || "");
}

function readURL() {
  const params = new URLSearchParams(location.search);
  for (const name of FILTERS) setFilter(name, params.get(name) ?? (name === "since" ? "1h" : ""));
  const since = params.get("since");
  if (since && !form.elements.since.querySelector(`option[value="${CSS.escape(since)}"]`)) showRange(since, params.get("until"));
  state.tab = params.get("tab") === "flows" ? "flows" : "lookups";
  state.sort = params.get("sort") === "latency" ? "latency" : "time";
  state.offset = Math.max(parseInt(params.get("offset") || "0", 10) || 0, 0);
  state.live = params.get("live") === "1";
}

function writeURL() {
  const params = filters();
  if (state.tab !== "lookups") params.set("tab", state.tab);
  if (state.sort !== "time") params.set("sort", state.sort);
  if (state.offset) params.set("offset", state.offset);
  if (state.live) params.set("live", "1");
  history.replaceState(null, "", (params.toString() ? "?" + params : location.pathname) + location.hash);
}

function syncControls() {
  const f = filters();
  const pressed = { errors: f.get("errors") === "true", timeouts: f.get("errno") === "110", slow: f.get("minLatencyMs") === "100" };
  for (const button of document.querySelectorAll("[data-quick]")) button.setAttribute("aria-pressed", pressed[button.dataset.quick]);
  for (const button of document.querySelectorAll(".sort")) button.classList.toggle("active", button.dataset.sort === state.sort);
  for (const tab of document.querySelectorAll("[role=tab]")) tab.setAttribute("aria-selected", tab.dataset.tab === state.tab);
  document.getElementById("lookupsView").hidden = state.tab !== "lookups";
  document.getElementById("flowsView").hidden = state.tab !== "flows";
  document.getElementById("live").checked = state.live;
}

// --- the API ----------------------------------------------------------------------------------------------------

// The token is asked for once, on the first 401, and kept in localStorage.
async function api(path, params) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const headers = {};
    const token = localStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = "Bearer " + token;
    const response = await fetch(path + "?" + params, { headers });
    if (response.status === 401 && attempt === 0) {
      const entered = prompt("This collector requires an API token (Bearer). Enter it:");
      if (!entered) throw new Error("an API token is required");
      localStorage.setItem(TOKEN_KEY, entered.trim());
      continue;
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || response.statusText);
    return body;
  }
}

function withParams(base, extra) {
  const params = new URLSearchParams(base);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  return params;
}

// --- names over numbers -----------------------------------------------------------------------------------------

function endpoint(address, port) {
  return (String(address).includes(":") ? `[${address}]` : address) + (port != null ? ":" + port : "");
}

function clientName(r) {
  if (r.SrcK8S_Name) return (r.SrcK8S_Namespace ? r.SrcK8S_Namespace + "/" : "") + r.SrcK8S_Name;
  return r.NetNsName || (r.ContainerId ? r.ContainerId.slice(0, 12) : null);
}

// A name where the record has one, else the address; the numbers in the tooltip.
function named(name, address, numbers) {
  return `<span title="${esc(numbers)}">${esc(name || address)}</span>`;
}

function time(ms) {
  const d = new Date(ms);
  const two = n => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

function outcome(r) {
  if (r.DnsFlagsResponseCode) return r.DnsFlagsResponseCode;
  return { 110: "timeout", 2: "no query" }[r.DnsErrno] || "–";
}

function none() { return '<span class="none">–</span>'; }

// --- the lookups table and the waterfall ------------------------------------------------------------------------

function lookupRow(r, i) {
  const out = outcome(r);
  const failed = out !== "NoError";
  const client = named(clientName(r), r.SrcAddr, `${endpoint(r.SrcAddr, r.SrcPort)} · netns ${r.NetNs}`);
  const server = esc(endpoint(r.DstAddr, r.DstPort)) +
    (r.XlatDstAddr ? ` <span class="muted">→ ${esc(endpoint(r.XlatDstAddr, r.XlatDstPort ?? r.DstPort))}</span>` : "");
  const answers = [...(r.DnsCnames || []), ...(r.DnsAnswers || [])].join(", ");
  const latency = r.DnsLatencyMs == null ? none()
    : `<span class="${r.DnsLatencyMs >= 100 ? "slow" : ""}">${r.DnsLatencyMs.toFixed(3)}</span>`;
  // A lookup the server's dnstap alone told of: no stage, so no packet of it on the node.
  const dnstapOnly = r.DnsServerSource === "dnstap" && !(r.DnsStages || []).length;
  const mark = dnstapOnly ? ' <span class="dnstap-only" title="from the server\'s dnstap alone: its client is off this node">dnstap</span>' : "";
  return `<tr class="lookup" tabindex="0" data-index="${i}" data-dns-id="${esc(r.DnsId)}" data-record-type="dnsTransaction" ` +
    `data-rcode="${esc(out)}" data-time="${r.TimeFlowEndMs}" aria-expanded="${state.open === i}"${dnstapOnly ? ' data-dnstap-only="true"' : ""}>` +
    `<td class="mono" title="${new Date(r.TimeFlowEndMs).toISOString()}">${time(r.TimeFlowEndMs)}</td>` +
    `<td>${client}${mark}</td><td>${r.Comm ? esc(r.Comm) : none()}</td><td>${r.DnsName ? esc(r.DnsName) : none()}</td>` +
    `<td>${esc(r.DnsQType || "")}</td><td><span class="rcode ${failed ? "err" : ""}">${esc(out)}</span></td>` +
    `<td class="num">${latency}</td><td class="mono">${server}</td><td class="mono">${answers ? esc(answers) : none()}</td></tr>`;
}

let lookups = [];

function drawLookups() {
  const body = document.querySelector("#lookups tbody");
  body.innerHTML = lookups.map((r, i) => lookupRow(r, i) + (state.open === i
    ? `<tr class="detail"><td colspan="9">${Waterfall.render(r)}</td></tr>` : "")).join("") ||
    `<tr><td colspan="9" class="none">No lookups match these filters</td></tr>`;
}

function toggle(index) {
  state.open = state.open === index ? null : index;
  drawLookups();
  const row = document.querySelector(`#lookups tr.lookup[data-index="${index}"]`);
  if (row) row.focus();
}

async function loadLookups(base) {
  const page = await api("/api/v1/lookups", withParams(base, { limit: PAGE, offset: state.offset, sort: state.sort }));
  lookups = page.lookups;
  if (state.open != null && state.open >= lookups.length) state.open = null;
  drawLookups();
  const last = Math.min(state.offset + lookups.length, page.total);
  document.getElementById("lookupCount").textContent =
    `${page.total.toLocaleString()} lookups, ${state.sort === "time" ? "newest" : "slowest"} first`;
  document.getElementById("pageInfo").textContent = page.total ? `${state.offset + 1}–${last} of ${page.total.toLocaleString()}` : "";
  document.getElementById("prev").disabled = state.offset === 0;
  document.getElementById("next").disabled = last >= page.total;
}

// --- flows ------------------------------------------------------------------------------------------------------

function flowRow(f) {
  const proto = { 6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMPv6" }[f.Proto] || f.Proto;
  const source = named(clientName(f), endpoint(f.SrcAddr, f.SrcPort), `${endpoint(f.SrcAddr, f.SrcPort)} · netns ${f.NetNs}`);
  return `<tr data-record-type="flow"><td class="mono">${time(f.TimeFlowEndMs)}</td><td>${source}</td>` +
    `<td class="mono">${esc(endpoint(f.DstAddr, f.DstPort))}</td><td>${f.DstDnsName ? esc(f.DstDnsName) : none()}</td>` +
    `<td>${esc(proto)}</td><td class="num">${(f.Bytes ?? 0).toLocaleString()}</td><td class="num">${(f.Packets ?? 0).toLocaleString()}</td>` +
    `<td>${esc((f.Interfaces || []).join(", "))}</td><td>${esc(f.NodeName || "")}</td></tr>`;
}

async function loadFlows(base) {
  const window = new URLSearchParams();
  for (const name of ["since", "until"]) if (base.has(name)) window.set(name, base.get(name));
  const page = await api("/api/v1/flows", withParams(window, { recordType: "flow", limit: PAGE }));
  document.querySelector("#flows tbody").innerHTML = page.flows.map(flowRow).join("") ||
    `<tr><td colspan="9" class="none">No flows in this range</td></tr>`;
  document.getElementById("flowCount").textContent = `${page.total.toLocaleString()} flows, newest first`;
}

// --- top panels -------------------------------------------------------------------------------------------------

function topList(id, entries, describe, filter) {
  const list = document.getElementById(id);
  if (!entries.length) { list.innerHTML = `<li class="empty">Nothing in this range</li>`; return; }
  const max = Math.max(...entries.map(e => describe(e).size), 1e-9);
  list.innerHTML = entries.map(e => {
    const d = describe(e);
    return `<li><button type="button" data-filter="${filter}" data-value="${esc(e.key)}" title="Filter by ${esc(e.key)}">` +
      `<span class="key">${esc(e.key || "(none)")}</span><span class="val">${d.text}</span>` +
      `<span class="meter" style="width:${(d.size / max) * 100}%"></span></button></li>`;
  }).join("");
}

const ms = v => (v == null ? "–" : v.toFixed(v >= 100 ? 0 : 2) + " ms");

async function loadTop(base) {
  const top = params => api("/api/v1/dns/top", withParams(base, { limit: 8, ...params }));
  const jobs = [
    top({ by: "name", stat: "p90" }).then(t => topList("topSlow", t.entries,
      e => ({ size: e.value || 0, text: `${ms(e.value)} <small>${e.count.toLocaleString()}×</small>` }), "dnsName")),
    top({ by: "name", order: "errors" }).then(t => topList("topErrors", t.entries,
      e => ({ size: e.errors, text: `${e.errors.toLocaleString()} <small>of ${e.count.toLocaleString()}</small>` }), "dnsName")),
    top({ by: "client", order: "count" }).then(t => topList("topClients", t.entries,
      e => ({ size: e.count, text: `${e.count.toLocaleString()} <small class="${e.errors ? "err" : ""}">${e.errors.toLocaleString()} errors</small>` }), "client")),
    top({ by: "server", stat: "p90" }).then(t => topList("topServers", t.entries,
      e => ({ size: e.value || 0, text: `${ms(e.value)} <small>${e.count.toLocaleString()}×</small>` }), "server")),
  ];
  await Promise.all(jobs);
}

// --- over time --------------------------------------------------------------------------------------------------

async function loadCharts(base) {
  const series = metric => api("/api/v1/dns/timeseries", withParams(base, { metric, by: "rcode" }));
  await Promise.all([
    series("rate").then(d => { document.getElementById("rateChart").innerHTML = Charts.rate(d); }),
    series("latency").then(d => { document.getElementById("latencyChart").innerHTML = Charts.latency(d); }),
  ]);
}

// --- refresh ----------------------------------------------------------------------------------------------------

async function refresh() {
  writeURL();
  syncControls();
  const base = filters();
  state.rendering++;
  document.body.dataset.ready = "0";
  const panels = [loadCharts(base), loadTop(base), Health.load(base), state.tab === "lookups" ? loadLookups(base) : loadFlows(base)];
  const results = await Promise.allSettled(panels);
  const failed = results.find(r => r.status === "rejected");
  statusLine.textContent = failed ? "⚠ " + failed.reason.message : `updated ${time(Date.now())}`;
  if (--state.rendering === 0) document.body.dataset.ready = "1";
}

function apply() { state.offset = 0; state.open = null; refresh(); }

function setLive(on) {
  state.live = on;
  clearInterval(liveTimer);
  // A live tail keeps the relative range moving; a brushed range stays still.
  if (on) liveTimer = setInterval(() => { if (state.open == null) refresh(); }, 5000);
  writeURL();
}

// --- events -----------------------------------------------------------------------------------------------------

form.addEventListener("submit", event => { event.preventDefault(); apply(); });
form.elements.since.addEventListener("change", () => {
  if (!form.elements.since.selectedOptions[0]?.dataset.custom) setFilter("until", "");
  apply();
});
document.getElementById("reset").addEventListener("click", () => {
  for (const name of FILTERS) setFilter(name, name === "since" ? "1h" : "");
  apply();
});
document.querySelector(".quick").addEventListener("click", event => {
  const button = event.target.closest("[data-quick]");
  if (!button) return;
  const on = button.getAttribute("aria-pressed") !== "true";
  const quick = { errors: ["errors", "true"], timeouts: ["errno", "110"], slow: ["minLatencyMs", "100"] }[button.dataset.quick];
  setFilter(quick[0], on ? quick[1] : "");
  apply();
});
document.querySelector(".panels").addEventListener("click", event => {
  const button = event.target.closest("[data-filter]");
  if (!button) return;
  setFilter(button.dataset.filter, button.dataset.value);
  apply();
});
document.querySelector("nav.tabs").addEventListener("click", event => {
  const tab = event.target.closest("[data-tab]");
  if (!tab) return;
  state.tab = tab.dataset.tab;
  refresh();
});
for (const button of document.querySelectorAll(".sort")) {
  button.addEventListener("click", () => { state.sort = button.dataset.sort; apply(); });
}
document.getElementById("prev").addEventListener("click", () => { state.offset = Math.max(state.offset - PAGE, 0); state.open = null; refresh(); });
document.getElementById("next").addEventListener("click", () => { state.offset += PAGE; state.open = null; refresh(); });
const table = document.querySelector("#lookups tbody");
table.addEventListener("click", event => {
  const row = event.target.closest("tr.lookup");
  if (row && !event.target.closest("details")) toggle(+row.dataset.index);
});
table.addEventListener("keydown", event => {
  const row = event.target.closest("tr.lookup");
  if (row && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); toggle(+row.dataset.index); }
});
document.getElementById("live").addEventListener("change", event => setLive(event.target.checked));
document.getElementById("token").addEventListener("click", () => {
  const entered = prompt("API token (leave empty to forget it):", localStorage.getItem(TOKEN_KEY) || "");
  if (entered === null) return;
  entered.trim() ? localStorage.setItem(TOKEN_KEY, entered.trim()) : localStorage.removeItem(TOKEN_KEY);
  refresh();
});
const brushTo = (from, until) => {
  showRange(String(from), String(until));
  apply();
};
Charts.brushable(document.getElementById("rateChart"), brushTo);
Charts.brushable(document.getElementById("latencyChart"), brushTo);

readURL();
setLive(state.live);
refresh().then(() => PageHarness.run());
