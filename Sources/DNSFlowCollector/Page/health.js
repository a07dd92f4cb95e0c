// DNS health panels (the agent's DNSHealth and PacketDrop records): search-path waste by client with the fix,
// tunnel suspects, and the kernel's DNS drops next to the timeouts. Each asks /api/v1/flows for the page's time
// range on its own.
"use strict";

const Health = (() => {
  const esc = Charts.esc;
  const LIMIT = 1000;

  function range(base, extra) {
    const params = new URLSearchParams();
    for (const name of ["since", "until"]) if (base.has(name)) params.set(name, base.get(name));
    for (const [k, v] of Object.entries(extra)) params.set(k, v);
    return params;
  }

  const who = r => (r.Comm ? `${r.Comm} · ` : "") + (r.SrcAddr || "");
  const empty = text => `<li class="empty">${esc(text)}</li>`;

  // Clients by tries wasted on the search list, each with the fix its latest resolution names.
  async function waste(base) {
    const page = await api("/api/v1/flows", range(base, { recordType: "dnsResolution", limit: LIMIT }));
    const byClient = new Map();
    for (const r of page.flows) {
      const key = who(r);
      const c = byClient.get(key) || { key, queries: 0, ms: 0, name: r.DnsBaseName, fix: r.DnsSearchFix, end: 0 };
      c.queries += r.DnsWastedQueries || 0;
      c.ms += r.DnsWastedMs || 0;
      if (r.TimeFlowEndMs >= c.end) Object.assign(c, { end: r.TimeFlowEndMs, name: r.DnsBaseName, fix: r.DnsSearchFix });
      byClient.set(key, c);
    }
    const top = [...byClient.values()].filter(c => c.queries).sort((a, b) => b.queries - a.queries).slice(0, 8);
    document.getElementById("healthWaste").innerHTML = top.map(c =>
      `<li data-client="${esc(c.key)}"><span class="key">${esc(c.key)}</span>` +
      `<span class="val">${c.queries.toLocaleString()} tries, ${Math.round(c.ms).toLocaleString()} ms</span>` +
      `<small class="fix">${esc(c.name || "")}: ${esc(c.fix || "")}</small></li>`).join("") ||
      empty("No search-path waste in this range");
  }

  async function tunnels(base) {
    const page = await api("/api/v1/flows", range(base, { recordType: "dnsAlert", limit: 50 }));
    document.getElementById("healthTunnels").innerHTML = page.flows.map(r =>
      `<li data-domain="${esc(r.DnsName || "")}"><span class="key">${esc(who(r))} → ${esc(r.DnsName || "")}</span>` +
      `<small>${esc(r.DnsAlertReason || "")}</small></li>`).join("") || empty("No tunnel suspects in this range");
  }

  // The kernel's drops by reason, beside the timeouts: a rising NETFILTER_DROP or SOCKET_RCVBUFF explains them.
  async function drops(base) {
    const [timeouts, lookups] = await Promise.all([
      api("/api/v1/flows", range(base, { recordType: "dnsTransaction", errno: 110, limit: 1 })),
      api("/api/v1/flows", range(base, { recordType: "dnsTransaction", limit: LIMIT })),
    ]);
    const reasons = new Map();
    for (const r of lookups.flows) if (r.DnsDropReason) reasons.set(r.DnsDropReason, (reasons.get(r.DnsDropReason) || 0) + 1);
    const rows = [`<li data-reason="timeouts"><span class="key">timed out</span><span class="val">${timeouts.total.toLocaleString()}</span></li>`];
    for (const [reason, count] of [...reasons].sort((a, b) => b[1] - a[1])) {
      rows.push(`<li data-reason="${esc(reason)}"><span class="key">dropped: ${esc(reason)}</span>` +
        `<span class="val">${count.toLocaleString()}</span></li>`);
    }
    if (!reasons.size) rows.push(empty("No DNS packet dropped in this range (PacketDrop)"));
    document.getElementById("healthDrops").innerHTML = rows.join("");
  }

  return { load: base => Promise.all([waste(base), tunnels(base), drops(base)]) };
})();
