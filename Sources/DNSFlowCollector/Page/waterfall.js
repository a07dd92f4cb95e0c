// One lookup's path through the node: a bar per stage (from the client inward) on a shared time axis, the time
// spent between stages, the server's side (cache hit or miss, a bar per upstream query), what it answered, who
// asked, and the raw record.
"use strict";

const Waterfall = (() => {
  const esc = Charts.esc;
  const W = 640, ROW = 32, LABEL = 190, PAD = 70;

  const FLAGS = [[15, "QR"], [10, "AA"], [9, "TC"], [8, "RD"], [7, "RA"], [5, "AD"], [4, "CD"]];

  function flagNames(flags) {
    if (flags == null) return "–";
    const set = FLAGS.filter(([bit]) => flags & (1 << bit)).map(([, name]) => name);
    return `${set.join(" ") || "none"} <span class="muted">(0x${flags.toString(16).padStart(4, "0")})</span>`;
  }

  function stageName(s) {
    return `<tspan>${esc(s.NetNsName || "netns " + s.NetNs)}</tspan><tspan class="muted"> ${esc(s.Interface)}</tspan>`;
  }

  // A wait of `ms` on an axis `x` of `span`, centred in it; dashed to the end without an answer.
  function bar(x, span, y, ms) {
    if (ms == null) {
      return `<rect x="${x(0)}" y="${y + 2}" width="${x(span) - x(0)}" height="14" class="bar open"></rect>` +
        `<text x="${x(span) + 4}" y="${y + 13}" class="muted">no answer</text>`;
    }
    const start = (span - ms) / 2;
    return `<rect x="${x(start)}" y="${y + 2}" width="${Math.max(x(start + ms) - x(start), 1)}" height="14" rx="2" class="bar"></rect>` +
      `<text x="${x(start + ms) + 4}" y="${y + 13}">${ms.toFixed(3)} ms</text>`;
  }

  // A stage's wait is centred in the one outside it: the query's and the answer's trips between two stages are
  // taken as equal, as the record holds each stage's wait, not its timestamps.
  function bars(stages) {
    const outer = stages[0]?.LatencyMs ?? Math.max(0, ...stages.map(s => s.LatencyMs || 0));
    const span = outer || 1;
    const x = ms => LABEL + (ms / span) * (W - LABEL - PAD);
    let out = "";
    stages.forEach((s, i) => {
      const y = 20 + i * ROW;
      const tip = `${s.NetNsName || ""} netns ${s.NetNs} · ${s.Interface} · server ${s.ServerAddr || ""}:${s.ServerPort || ""}`;
      out += `<g class="stage" data-stage="${i}"><title>${esc(tip)}</title>` +
        `<text x="${LABEL - 8}" y="${y + 13}" text-anchor="end">${stageName(s)}</text>`;
      out += bar(x, span, y, s.LatencyMs);
      const before = stages[i - 1];
      if (before && before.LatencyMs != null && s.LatencyMs != null) {
        const gap = before.LatencyMs - s.LatencyMs;
        out += `<text x="${x((span - before.LatencyMs) / 2)}" y="${y - 3}" class="gap">+${gap.toFixed(3)} ms between</text>`;
      }
      out += "</g>";
    });
    const axisY = 20 + stages.length * ROW + 4;
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      out += `<line x1="${x(span * f)}" x2="${x(span * f)}" y1="12" y2="${axisY}" class="grid"></line>` +
        `<text x="${x(span * f)}" y="${axisY + 12}" text-anchor="middle" class="muted">${(span * f).toFixed(3)}</text>`;
    }
    return `<svg class="waterfall" viewBox="0 0 ${W} ${axisY + 18}" role="img" aria-label="stages of the lookup">${out}</svg>`;
  }

  // The upstream queries the resolver sent while the client waited, each its own wait on the lookup's axis.
  function upstreamBars(r, upstreams) {
    const span = r.DnsLatencyMs || Math.max(0, ...upstreams.map(u => u.LatencyMs || 0)) || 1;
    const x = ms => LABEL + (ms / span) * (W - LABEL - PAD);
    let out = "";
    upstreams.forEach((u, i) => {
      const y = 4 + i * ROW;
      out += `<g class="upstream" data-upstream="${i}"><title>${esc(`upstream ${u.Addr}:${u.Port} · id ${u.DnsId} · ${u.Rcode || "no answer"}`)}</title>` +
        `<text x="${LABEL - 8}" y="${y + 13}" text-anchor="end"><tspan>upstream ${esc(u.Addr)}</tspan><tspan class="muted">:${u.Port}</tspan></text>` +
        bar(x, span, y, u.LatencyMs) + "</g>";
    });
    return `<svg class="waterfall upstreams" viewBox="0 0 ${W} ${upstreams.length * ROW + 8}" role="img" aria-label="the resolver's upstream queries">${out}</svg>`;
  }

  function serverSide(r) {
    const upstreams = r.DnsUpstream || [];
    if (r.DnsCacheHit == null && !upstreams.length) return "";
    const verdict = r.DnsCacheHit == null ? "" : r.DnsCacheHit ? "cache hit · " : "cache miss · ";
    return `<h4 class="server-side">Server side <span class="muted">${verdict}told by ${esc(r.DnsServerSource || "?")}</span></h4>` +
      (upstreams.length ? upstreamBars(r, upstreams) : "");
  }

  function field(name, value) {
    return `<dt>${esc(name)}</dt><dd>${value == null || value === "" ? "–" : value}</dd>`;
  }

  function render(r) {
    const stages = r.DnsStages || [];
    const answers = [...(r.DnsCnames || []).map(c => esc(c) + " (CNAME)"), ...(r.DnsAnswers || []).map(esc)];
    const asked = [r.Comm && `<b>${esc(r.Comm)}</b>`, r.Pid && `pid ${r.Pid}`,
      r.SrcK8S_Namespace && `pod ${esc(r.SrcK8S_Namespace)}/${esc(r.SrcK8S_Name)}`,
      r.ContainerId && `container ${esc(r.ContainerId.slice(0, 12))}`, r.PodUid && `pod uid ${esc(r.PodUid)}`,
      r.CgroupId && `cgroup ${r.CgroupId}`].filter(Boolean).join(" · ");
    return `<div class="detail-body">
      <h3>${esc(r.DnsName || "?")} <span class="muted">${esc(r.DnsQType || "")} · id ${r.DnsId ?? "–"} · ${esc(r.NodeName || "")}</span></h3>
      ${stages.length ? bars(stages) : r.DnsServerSource === "dnstap"
        ? '<p class="muted dnstap-only">Told by the server\'s dnstap alone: no packet of this lookup was seen on this node.</p>'
        : '<p class="muted">No stages recorded.</p>'}
      ${serverSide(r)}
      <dl class="facts">
        ${field("Stages", stages.length)}
        ${field("Answers", answers.join(", "))}
        ${field("TTL", r.DnsTtl != null ? r.DnsTtl + " s" : null)}
        ${field("Flags", flagNames(r.DnsFlags))}
        ${field("Retransmits", r.DnsRetransmits)}
        ${field("Who asked", asked)}
        ${field("Client", esc(`${r.SrcAddr}:${r.SrcPort}`) + (r.NetNsName ? ` in ${esc(r.NetNsName)}` : ""))}
        ${field("Server", esc(`${r.DstAddr}:${r.DstPort}`) + (r.XlatDstAddr ? ` → ${esc(r.XlatDstAddr)}:${r.XlatDstPort ?? r.DstPort}` : ""))}
      </dl>
      <details><summary>Raw record (JSON)</summary><pre>${esc(JSON.stringify(r, null, 2))}</pre></details>
    </div>`;
  }

  return { render };
})();
