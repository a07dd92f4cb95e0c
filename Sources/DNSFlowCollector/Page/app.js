// The Network Traffic page: reads filters from the form and the URL, calls the collector API, draws SVG charts.
"use strict";

const TOKEN_KEY = "dnsflow.token";
const FILTERS = ["recordType", "dnsId", "dnsName", "minLatencyMs", "rcode", "since"];
const RCODE_COLORS = {
  NoError: "#16a34a", NXDomain: "#f59e0b", ServFail: "#dc2626", Refused: "#7c3aed", FormErr: "#db2777",
  NotImp: "#0891b2", "": "#9ca3af",
};
const PALETTE = ["#2563eb", "#0d9488", "#ea580c", "#9333ea", "#65a30d", "#0284c7", "#be123c", "#4b5563"];

const form = document.getElementById("filters");
const statusLine = document.getElementById("status");

function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function currentFilters() {
  const params = new URLSearchParams();
  for (const name of FILTERS) {
    const value = form.elements[name].value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function loadFiltersFromURL() {
  const params = new URLSearchParams(location.search);
  for (const name of FILTERS) {
    if (params.has(name)) form.elements[name].value = params.get(name);
  }
}

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

// A DNS transaction is one row: the client, the server it asked (→ the one that answered, after NAT), the
// client's wait with its stages in the tooltip, who asked and what came back. Flows as they are.
function flowRow(f) {
  const isErr = f.DnsFlagsResponseCode && f.DnsFlagsResponseCode !== "NoError";
  const stages = (f.DnsStages || []).map(s => `${s.NetNsName || s.NetNs} ${s.Interface} ` +
    (s.LatencyMs == null ? "–" : s.LatencyMs.toFixed(3) + " ms")).join("\n");
  const latency = f.DnsLatencyMs == null ? '<span class="none">–</span>'
    : `<span class="${f.DnsLatencyMs >= 100 ? "slow" : ""}">${f.DnsLatencyMs.toFixed(3)}</span>`;
  const cell = (v, cls = "") => `<td class="${cls}">${v == null || v === "" ? '<span class="none">–</span>' : esc(v)}</td>`;
  const endpoint = (a, p) => (a.includes(":") ? `[${a}]` : a) + ":" + p;
  const server = endpoint(f.DstAddr, f.DstPort) +
    (f.XlatDstAddr ? " → " + endpoint(f.XlatDstAddr, f.XlatDstPort ?? f.DstPort) : "");
  const answers = [...(f.DnsCnames || []), ...(f.DnsAnswers || [])].join(", ");
  const proto = { 6: "TCP", 17: "UDP" }[f.Proto] || f.Proto;
  const time = new Date(f.TimeFlowEndMs).toISOString().replace("T", " ").replace("Z", "");
  return `<tr data-dns-id="${esc(f.DnsId)}" data-record-type="${esc(f.RecordType || "flow")}">` +
    cell(time, "mono") + cell(endpoint(f.SrcAddr, f.SrcPort), "mono") + cell(server, "mono") +
    cell(proto) + cell(f.DnsName ?? f.DstDnsName) + cell(f.DnsQType) + cell(f.DnsId, "num") +
    `<td>${f.DnsFlagsResponseCode ? `<span class="rcode ${isErr ? "err" : ""}">${esc(f.DnsFlagsResponseCode)}</span>` : '<span class="none">–</span>'}</td>` +
    `<td class="num" title="${esc(stages)}">${latency}</td>` + cell(f.DnsErrno, "num") + cell(f.Comm) +
    cell(answers, "mono") + cell(f.NetNsName ?? f.NetNs, "num") +
    cell((f.Interfaces || []).map((name, i) => name + ((f.IfDirections || [])[i] === 1 ? " ↑" : " ↓")).join(", ")) +
    cell(f.NodeName) + "</tr>";
}

function empty(message = "No DNS data in this range") {
  return `<div class="empty">${esc(message)}</div>`;
}

function horizontalBars(entries) {
  if (!entries.length) return empty();
  const width = 420, labelWidth = 170, row = 21, max = Math.max(...entries.map(e => e.value || 0), 0.001);
  const bars = entries.map((e, i) => {
    const w = Math.max(1, ((e.value || 0) / max) * (width - labelWidth - 70));
    const label = e.key.length > 26 ? "…" + e.key.slice(-25) : e.key;
    return `<g transform="translate(0,${i * row})"><title>${esc(e.key)}: ${(e.value || 0).toFixed(3)} ms over ${e.count} queries</title>
      <text x="${labelWidth - 6}" y="14" text-anchor="end">${esc(label || "(none)")}</text>
      <rect x="${labelWidth}" y="3" width="${w}" height="14" rx="2" fill="${PALETTE[0]}" opacity="${1 - i * 0.05}"></rect>
      <text x="${labelWidth + w + 5}" y="14" class="muted">${(e.value || 0).toFixed(3)} ms</text></g>`;
  });
  return `<svg viewBox="0 0 ${width} ${entries.length * row + 4}" role="img" aria-label="top average DNS latencies">${bars.join("")}</svg>`;
}

function stackedRcodes(entries) {
  if (!entries.length) return empty();
  const total = entries.reduce((sum, e) => sum + e.count, 0);
  const width = 420;
  let x = 0, colorIndex = 0;
  const color = key => RCODE_COLORS[key] || PALETTE[colorIndex++ % PALETTE.length];
  const colored = entries.map(e => ({ ...e, color: color(e.key) }));
  const segments = colored.map(e => {
    const w = (e.count / total) * width;
    const seg = `<rect x="${x}" y="18" width="${Math.max(w, 0.5)}" height="26" fill="${e.color}"><title>${esc(e.key)}: ${e.count}</title></rect>`;
    x += w;
    return seg;
  });
  const legend = colored.map(e => `<span class="swatch" style="background:${e.color}"></span><span>${esc(e.key || "(none)")}</span>` +
    `<span class="n">${e.count.toLocaleString()} (${((e.count / total) * 100).toFixed(1)}%)</span>`).join("");
  return `<svg viewBox="0 0 ${width} 50" role="img" aria-label="response codes stacked">
      <text x="0" y="12" class="muted">share of ${total.toLocaleString()} DNS transactions</text>${segments.join("")}</svg>
    <div class="legend">${legend}<span></span><span class="total">Total</span><span class="n total">${total.toLocaleString()}</span></div>`;
}

function histogram(buckets) {
  const total = buckets.reduce((sum, b) => sum + b.count, 0);
  if (!total) return empty();
  const width = 420, height = 180, bottom = 34, left = 34, max = Math.max(...buckets.map(b => b.count));
  const bw = (width - left) / buckets.length;
  let lower = 0;
  const bars = buckets.map((b, i) => {
    const h = (b.count / max) * (height - bottom - 14);
    const short = ms => (ms >= 1000 ? ms / 1000 + "s" : String(ms));
    const label = b.upperMs == null ? `≥${short(lower)}` : `<${short(b.upperMs)}`;
    const range = b.upperMs == null ? `≥ ${lower} ms` : `${lower}–${b.upperMs} ms`;
    lower = b.upperMs ?? lower;
    const x = left + i * bw;
    return `<g><title>${range}: ${b.count}</title>
      <rect x="${x + 2}" y="${height - bottom - h}" width="${bw - 4}" height="${h}" rx="2" fill="${PALETTE[1]}"></rect>
      ${b.count ? `<text x="${x + bw / 2}" y="${height - bottom - h - 3}" text-anchor="middle" class="muted">${b.count}</text>` : ""}
      <text x="${x + bw / 2}" y="${height - bottom + 14}" text-anchor="middle">${label}</text></g>`;
  });
  return `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="latency histogram">
    <line x1="${left}" y1="${height - bottom}" x2="${width}" y2="${height - bottom}" stroke="#cbd5e1"></line>
    <text x="${left}" y="${height - 4}" class="muted">latency (ms)</text>
    <text x="0" y="12" class="muted">count</text>${bars.join("")}</svg>`;
}

async function refresh() {
  const filters = currentFilters();
  history.replaceState(null, "", filters.toString() ? "?" + filters : location.pathname);
  const range = new URLSearchParams({ since: form.elements.since.value });
  statusLine.textContent = "";
  try {
    const [flows, top, rcodes, hist] = await Promise.all([
      api("/api/v1/flows", filters),
      api("/api/v1/dns/top", new URLSearchParams({ by: "name", stat: "avg", limit: "10", since: range.get("since") })),
      api("/api/v1/dns/top", new URLSearchParams({ by: "rcode", stat: "avg", limit: "10", since: range.get("since") })),
      api("/api/v1/dns/histogram", range),
    ]);
    document.querySelector("#flows tbody").innerHTML = flows.flows.map(flowRow).join("") ||
      `<tr><td colspan="15" class="none">No records match these filters</td></tr>`;
    document.getElementById("count").textContent = `showing ${flows.flows.length.toLocaleString()} of ${flows.total.toLocaleString()}, newest first`;
    document.getElementById("topLatency").innerHTML = horizontalBars(top.entries);
    document.getElementById("topRcode").innerHTML = stackedRcodes(rcodes.entries);
    document.getElementById("histogram").innerHTML = histogram(hist.buckets);
  } catch (error) {
    statusLine.textContent = "⚠ " + error.message;
  }
}

form.addEventListener("submit", event => { event.preventDefault(); refresh(); });
document.getElementById("reset").addEventListener("click", () => { form.reset(); refresh(); });
document.getElementById("token").addEventListener("click", () => {
  const entered = prompt("API token (leave empty to forget it):", localStorage.getItem(TOKEN_KEY) || "");
  if (entered === null) return;
  entered.trim() ? localStorage.setItem(TOKEN_KEY, entered.trim()) : localStorage.removeItem(TOKEN_KEY);
  refresh();
});

loadFiltersFromURL();
refresh();
setInterval(refresh, 30000);
