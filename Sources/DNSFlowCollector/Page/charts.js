// Over-time charts drawn as SVG: lookups per second stacked by response code, latency percentiles as lines.
// Dragging across either chart calls onBrush(fromMs, untilMs).
"use strict";

const Charts = (() => {
  const W = 600, H = 200, LEFT = 44, RIGHT = 8, TOP = 10, BOTTOM = 24;
  const OUTCOME_COLORS = {
    NoError: "#16a34a", NXDomain: "#f59e0b", ServFail: "#dc2626", Refused: "#7c3aed", FormErr: "#db2777",
    NotImp: "#0891b2", timeout: "#111827", "no-query": "#9ca3af",
  };
  const STAT_COLORS = { p50: "#2563eb", p90: "#ea580c", p99: "#be123c" };
  const EXTRA = ["#0d9488", "#65a30d", "#0284c7", "#4b5563"];

  function esc(value) {
    return String(value ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function color(key, i) { return OUTCOME_COLORS[key] || STAT_COLORS[key] || EXTRA[i % EXTRA.length]; }

  function niceMax(value) {
    if (!(value > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(value)));
    return [1, 2, 5, 10].map(m => m * p).find(v => v >= value);
  }

  function clock(ms, stepMs) {
    const d = new Date(ms);
    const two = n => String(n).padStart(2, "0");
    const hm = `${two(d.getHours())}:${two(d.getMinutes())}`;
    return stepMs < 60000 ? `${hm}:${two(d.getSeconds())}` : stepMs >= 3600000 ? `${two(d.getDate())}/${two(d.getMonth() + 1)} ${hm}` : hm;
  }

  // Axes, gridlines and the time labels shared by both charts.
  function frame(data, max, unit) {
    const n = data.series[0]?.values.length || 1;
    const x = i => LEFT + (i / n) * (W - LEFT - RIGHT);
    const y = v => H - BOTTOM - (v / max) * (H - TOP - BOTTOM);
    let out = "";
    for (const f of [0, 0.5, 1]) {
      out += `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(max * f)}" y2="${y(max * f)}" class="grid"></line>` +
        `<text x="${LEFT - 4}" y="${y(max * f) + 4}" text-anchor="end" class="muted">${+(max * f).toPrecision(3)}${f === 1 ? unit : ""}</text>`;
    }
    const ticks = Math.min(6, n);
    for (let t = 0; t < ticks; t++) {
      const i = Math.round((t / ticks) * n);
      out += `<text x="${x(i)}" y="${H - 6}" class="muted">${clock(data.startMs + i * data.stepMs, data.stepMs)}</text>`;
    }
    return { n, x, y, out };
  }

  function legend(keys) {
    return `<div class="legend">${keys.map((k, i) => `<span><i style="background:${color(k, i)}"></i>${esc(k)}</span>`).join("")}</div>`;
  }

  function svg(label, body, data) {
    return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}" data-start="${data.startMs}" ` +
      `data-step="${data.stepMs}" data-steps="${data.series[0]?.values.length || 0}">${body}` +
      `<rect class="brush" x="0" y="${TOP}" width="0" height="${H - TOP - BOTTOM}"></rect></svg>`;
  }

  function empty(data) {
    return !data.series.length || data.series.every(s => s.values.every(v => !v));
  }

  function rate(data) {
    if (empty(data)) return `<div class="empty">No lookups in this range</div>`;
    const totals = data.series[0].values.map((_, i) => data.series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
    const f = frame(data, niceMax(Math.max(...totals)), "/s");
    const width = Math.max((W - LEFT - RIGHT) / f.n - 1, 1);
    let bars = "";
    for (let i = 0; i < f.n; i++) {
      let base = 0;
      const parts = data.series.map((s, k) => {
        const v = s.values[i] || 0;
        if (!v) return "";
        const rect = `<rect x="${f.x(i)}" y="${f.y(base + v)}" width="${width}" height="${f.y(base) - f.y(base + v)}" fill="${color(s.key, k)}"></rect>`;
        base += v;
        return rect;
      }).join("");
      const tip = data.series.filter(s => s.values[i]).map(s => `${s.key} ${s.values[i].toFixed(2)}/s`).join(", ");
      bars += `<g><title>${clock(data.startMs + i * data.stepMs, 1000)}: ${esc(tip)}</title>${parts}</g>`;
    }
    return svg("lookups per second by response code", f.out + bars, data) + legend(data.series.map(s => s.key));
  }

  function latency(data) {
    if (empty(data)) return `<div class="empty">No latencies in this range</div>`;
    const f = frame(data, niceMax(Math.max(...data.series.flatMap(s => s.values.filter(v => v != null)))), " ms");
    const half = (W - LEFT - RIGHT) / f.n / 2;
    const lines = data.series.map((s, k) => {
      let d = "", pen = "M";
      s.values.forEach((v, i) => {
        if (v == null) { pen = "M"; return; }
        d += `${pen}${(f.x(i) + half).toFixed(1)},${f.y(v).toFixed(1)} `;
        pen = "L";
      });
      const dots = s.values.map((v, i) => v == null ? "" :
        `<circle cx="${f.x(i) + half}" cy="${f.y(v)}" r="2" fill="${color(s.key, k)}"><title>${s.key} ${v.toFixed(3)} ms at ${clock(data.startMs + i * data.stepMs, 1000)}</title></circle>`).join("");
      return `<path d="${d}" fill="none" stroke="${color(s.key, k)}" stroke-width="1.6"></path>${dots}`;
    }).join("");
    return svg("latency percentiles", f.out + lines, data) + legend(data.series.map(s => s.key));
  }

  // Maps a pointer's x on the chart to a time, and draws the band while dragging.
  function brushable(container, onBrush) {
    const timeAt = (svgEl, clientX) => {
      const box = svgEl.getBoundingClientRect();
      const vx = ((clientX - box.left) / box.width) * W;
      const frac = Math.min(Math.max((vx - LEFT) / (W - LEFT - RIGHT), 0), 1);
      const steps = +svgEl.dataset.steps;
      return +svgEl.dataset.start + frac * steps * +svgEl.dataset.step;
    };
    let start = null;
    container.addEventListener("pointerdown", event => {
      const svgEl = container.querySelector("svg");
      if (!svgEl) return;
      start = { svgEl, x: event.clientX, t: timeAt(svgEl, event.clientX) };
      event.preventDefault();
    });
    container.addEventListener("pointermove", event => {
      if (!start) return;
      const box = start.svgEl.getBoundingClientRect();
      const a = ((Math.min(start.x, event.clientX) - box.left) / box.width) * W;
      const b = ((Math.max(start.x, event.clientX) - box.left) / box.width) * W;
      const band = start.svgEl.querySelector(".brush");
      band.setAttribute("x", a);
      band.setAttribute("width", b - a);
    });
    const finish = event => {
      if (!start) return;
      const from = start.t, to = timeAt(start.svgEl, event.clientX);
      const moved = Math.abs(event.clientX - start.x) > 3;
      start = null;
      if (moved) onBrush(Math.round(Math.min(from, to)), Math.round(Math.max(from, to)));
    };
    container.addEventListener("pointerup", finish);
    container.addEventListener("pointerleave", finish);
  }

  return { rate, latency, brushable, esc, color };
})();
