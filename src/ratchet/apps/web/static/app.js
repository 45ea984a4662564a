// ratchet dashboard: loads the run once, then follows it over server-sent events.
"use strict";
const $ = (s) => document.querySelector(s);
let run = null, source = null, cycles = null, kind = "games", scoreName = "score";
const state = { promotions: 0, running: false };

async function getJSON(path) {
  const sep = path.includes("?") ? "&" : "?";
  const res = await fetch(run ? `${path}${sep}run=${encodeURIComponent(run)}` : path);
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}
const fmt = (x, d = 3) => (x === null || x === undefined || Number.isNaN(x)) ? "—" : Number(x).toFixed(d);
const esc = (s) => String(s ?? "").replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
const val = (v) => typeof v === "number" ? (Number.isInteger(v) ? String(v) : String(+v.toPrecision(4))) : esc(v);
const effect = (r) => r.elo !== null && r.elo !== undefined ? `${r.elo >= 0 ? "+" : ""}${fmt(r.elo, 0)} Elo`
  : (r.improvement !== null && r.improvement !== undefined ? `${(100 * r.improvement).toFixed(2)}%` : "");

function renderStatus(s) {
  const phase = s.phase && s.phase !== "running" ? ` · ${s.phase}` : "";
  const stateText = s.running ? (s.paused ? `paused (${s.pause_reason})` : `running${phase}`) : "stopped";
  $("#s-state").textContent = stateText;
  $("#s-state").className = s.running ? (s.paused ? "gated" : "promote") : "reject";
  $("#s-cycle").textContent = `${s.cycle}${s.cycle_in_progress ? " (in progress)" : ""}`;
  const b = s.best, sc = b.score || {};
  $("#s-champion").textContent = `v${b.version} · ${b.candidate}`;
  $("#s-best").textContent = sc.mean === null || sc.mean === undefined ? "—"
    : `${fmt(sc.mean)} [${fmt(sc.low)}, ${fmt(sc.high)}] n=${sc.n}${b.provisional ? " (provisional)" : ""}`;
  $("#s-current").textContent = fmt(s.current_score);
  $("#s-promotions").textContent = s.promotions;
  $("#s-uptime").textContent = s.uptime_s ? `${Math.round(s.uptime_s)} s` : "—";
  $("#s-error").textContent = s.last_error || "none";
  $("#s-error").className = s.last_error ? "bad" : "";
  state.promotions = s.promotions;
  state.running = Boolean(s.running);
  liveBadge();
}

// "live" only while the run runs and the stream is open; a stopped run says so
function liveBadge(open = source && source.readyState === 1) {
  if (new URLSearchParams(location.search).has("static")) return;
  const [text, cls] = !state.running ? ["stopped", "pill off"] : open ? ["live", "pill"] : ["reconnecting", "pill off"];
  $("#live").textContent = text; $("#live").className = cls;
}

let driftAt = 0;
async function renderDrift(force = false) {
  if (!force && Date.now() - driftAt < 10000) return;
  driftAt = Date.now();
  const d = await getJSON("/api/drift");
  $("#drift").hidden = !d;
  if (d) $("#s-drift").textContent = `the champion (v${d.version}) measured ${fmt(d.early)} over its first ${Math.floor(d.n / 2)} runs and ${fmt(d.late)} since, with nothing promoted (p=${d.p.toPrecision(2)}): the benchmark or the machine drifts (load?); the best score is the mean of all its runs`;
}

function renderProgress(st) {
  const ev = st.evidence || {};
  let text = `${st.phase || ""}`;
  if (st.cycle) text += ` · cycle ${st.cycle}`;
  if (ev.n !== undefined) text += ` · n=${ev.n}`;
  if (ev.llr !== undefined) text += ` · LLR ${fmt(ev.llr, 2)} in [${fmt(ev.lower, 2)}, ${fmt(ev.upper, 2)}]`;
  if (ev.elo !== undefined) text += ` · Elo ${fmt(ev.elo, 0)}`;
  if (ev.p_value !== undefined) text += ` · p=${fmt(ev.p_value, 3)}`;
  if (st.pause_reason) text += ` · ${st.pause_reason}`;
  $("#s-progress").textContent = text;
}

function trend(values, alpha = 0.1) {
  let ema = null;
  return values.map((v) => (v === null ? ema : (ema = ema === null ? v : ema + alpha * (v - ema))));
}

let plot = null;

function curveData() {
  const c = cycles;
  const other = c.score.map((y, i) => (c.decision[i] === "promote" ? null : y));
  const promoted = c.score.map((y, i) => (c.decision[i] === "promote" ? y : null));
  return [c.cycle, other, c.champion_score, trend(c.champion_score), promoted];
}

function drawCurve() {
  const data = curveData();
  document.body.dataset.points = String(data[0].length);
  document.body.dataset.scoreAxis = scoreName;
  if (typeof uPlot === "undefined") {
    $("#curve").textContent = "charts unavailable: the chart library is not vendored (make install)";
    return;
  }
  if (plot) { plot.setData(data); return; }
  const el = $("#curve");
  const dots = (color, size) => ({ stroke: color, fill: color, paths: () => null,
    points: { show: true, size, fill: color, stroke: color } });
  plot = new uPlot({
    width: el.clientWidth, height: 320, scales: { x: { time: false } },
    axes: [{ label: "cycle", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000],
             values: (u, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : "")) }, { label: scoreName }],
    series: [{ label: "cycle" },
      { label: "challenger", ...dots("#8b93a7", 5) },
      { label: "champion (same seeds)", stroke: "#2f6fdd", width: 1, spanGaps: true },
      { label: "champion trend", stroke: "#1d2330", width: 2, spanGaps: true },
      { label: "promotion ★", ...dots("#1a9d5a", 11) }],
  }, data, el);
  window.addEventListener("resize", () => plot.setSize({ width: el.clientWidth, height: 320 }));
}

function addCycle(d) {
  for (const [k, v] of Object.entries({ cycle: d.cycle, candidate: d.candidate, decision: d.decision, score: d.score,
    champion_score: d.champion_score, games: d.games, n: d.n, elo: d.elo, improvement: d.improvement, reason: d.reason,
    origin: d.origin })) {
    (cycles[k] || (cycles[k] = [])).push(v);
  }
  drawCurve();
  renderCandidates();
}

function renderCandidates() {
  const want = $("#filter").value, rows = [];
  for (let i = cycles.cycle.length - 1; i >= 0 && rows.length < 200; i--) {
    if (want && cycles.decision[i] !== want) continue;
    const r = { elo: cycles.elo[i], improvement: cycles.improvement[i] };
    rows.push(`<tr data-candidate="${esc(cycles.candidate[i])}" class="pick"><td class="num">${cycles.cycle[i]}</td><td>${esc(cycles.candidate[i])}</td>
      <td>${esc((cycles.origin || [])[i])}</td>
      <td class="${esc(cycles.decision[i])}">${esc(cycles.decision[i])}</td><td class="num">${cycles.n[i] ?? ""}</td>
      <td class="num">${fmt(cycles.score[i])}</td><td class="num">${fmt(cycles.champion_score[i])}</td>
      <td class="num">${effect(r)}</td><td>${esc(cycles.reason[i])}</td></tr>`);
  }
  $("#candidates tbody").innerHTML = rows.join("");
}

function renderChampion(ch) {
  $("#best tbody").innerHTML = Object.entries(ch.params).map(([k, v]) =>
    `<tr><td>${esc(k)}</td><td class="num">${esc(typeof v === "number" ? +v.toPrecision(6) : v)}</td></tr>`).join("");
  $("#champions tbody").innerHTML = ch.history.slice().reverse().map((p) => {
    const ev = p.revert ? `reverted: ${esc(p.revert)}` : p.manual ? "manual" : (p.elo !== null && p.elo !== undefined
      ? `${fmt(p.elo, 0)} Elo [${fmt(p.elo_low, 0)}, ${fmt(p.elo_high, 0)}] n=${p.n}`
      : (p.improvement !== null && p.improvement !== undefined ? `${(100 * p.improvement).toFixed(2)}% n=${p.n}` : "baseline"));
    const changes = Object.entries(p.changes).map(([k, [a, b]]) => `${esc(k)} ${val(a)}→${val(b)}`).join(", ");
    return `<tr><td>v${p.version}</td><td class="num">${p.cycle}</td><td>${esc(p.candidate)}</td><td>${ev}</td>
      <td class="changes">${changes}</td></tr>`;
  }).join("");
}

async function renderInFlight() {
  const d = await getJSON("/api/in_flight");
  $("#in-flight").hidden = d.challengers.length === 0;
  $("#in-flight tbody").innerHTML = d.challengers.map((c) => `<tr><td class="num">${c.cycle}</td>
    <td>${esc(c.candidate)}</td><td>${esc(c.stage)}</td><td class="num">${c.n}</td>
    <td class="num">${fmt(c.mean)}</td><td class="num">${fmt(c.champion_mean)}</td>
    <td class="num">${c.gap === null ? "—" : (c.gap >= 0 ? "+" : "") + fmt(c.gap)}</td></tr>`).join("");
  document.body.dataset.inFlight = String(d.challengers.length);
}

async function renderCycle(n) {
  if (!n) return;
  const d = await getJSON(`/api/cycles/${n}`);
  $("#cycle-label").textContent = `cycle ${n}`;
  const rows = Object.entries(d.roles).map(([role, r]) => {
    if (kind !== "games") {
      const s = r.samples.slice().sort((a, b) => a - b), mid = s[Math.floor(s.length / 2)];
      return `<div class="row"><b>${esc(role)}</b><span>n=${s.length} min ${fmt(s[0])} median ${fmt(mid)}
        max ${fmt(s[s.length - 1])}</span><span class="legend">${r.failed ? `${r.failed} failed` : ""}</span></div>`;
    }
    const total = r.wins + r.draws + r.losses || 1, pct = (x) => `${(100 * x / total).toFixed(1)}%`;
    return `<div class="row"><b>${esc(role)}</b><div class="stack" title="${r.wins} W / ${r.draws} D / ${r.losses} L">
      <div class="w" style="width:${pct(r.wins)}"></div><div class="d" style="width:${pct(r.draws)}"></div>
      <div class="l" style="width:${pct(r.losses)}"></div></div>
      <span class="legend">${r.wins} W · ${r.draws} D · ${r.losses} L</span></div>`;
  });
  $("#bars").innerHTML = `<div class="bars">${rows.join("")}</div>`;
}

// Two small charts drawn on a canvas: a scatter and bars (sysctl-like runs only).
function frame(canvas, xLabel, yLabel, [x0, x1], [y0, y1], xTicks = true, xNames = null) {
  const dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = w * dpr; canvas.height = h * dpr;
  const g = canvas.getContext("2d");
  g.scale(dpr, dpr);
  g.clearRect(0, 0, w, h);
  const L = 62, B = 34, T = 8, R = 28;
  const sx = (x) => L + (x - x0) / ((x1 - x0) || 1) * (w - L - R);
  const sy = (y) => h - B - (y - y0) / ((y1 - y0) || 1) * (h - B - T);
  g.strokeStyle = "#c5cad6"; g.fillStyle = "#6b7385"; g.font = "11px system-ui";
  g.beginPath(); g.moveTo(L, T); g.lineTo(L, h - B); g.lineTo(w - R, h - B); g.stroke();
  for (let i = 0; i <= 4; i++) {
    const xv = x0 + (x1 - x0) * i / 4, yv = y0 + (y1 - y0) * i / 4;
    if (xTicks && !xNames) { g.textAlign = "center"; g.fillText(typeof xTicks === "function" ? xTicks(xv) : +xv.toPrecision(3), sx(xv), h - B + 14); }
    g.textAlign = "right"; g.fillText(+yv.toPrecision(3), L - 6, sy(yv) + 4);
  }
  if (xNames) { g.textAlign = "center"; xNames.forEach((n, i) => g.fillText(String(n).slice(0, 12), sx(i), h - B + 14)); }
  g.textAlign = "center"; g.fillText(xLabel, (L + w - R) / 2, h - 4);
  g.save(); g.translate(11, h / 2); g.rotate(-Math.PI / 2); g.fillText(yLabel, 0, 0); g.restore();
  return { g, sx, sy };
}
const range = (xs, pad = 0.05) => {
  const v = xs.filter((x) => x !== null), lo = Math.min(...v), hi = Math.max(...v), d = (hi - lo) || Math.abs(hi) || 1;
  return [lo - pad * d, hi + pad * d];
};

async function renderObjectives() {
  const o = await getJSON("/api/objectives");
  $("#objectives").hidden = o.cycle.length === 0;
  if (!o.cycle.length) return;
  const sc = frame($("#tradeoff"), "performance", "stability", range(o.performance), [0, 1.05]);
  o.cycle.forEach((_, i) => {
    const promoted = o.decision[i] === "promote";
    sc.g.fillStyle = promoted ? "#1a9d5a" : "rgba(47, 111, 221, 0.55)";
    sc.g.beginPath();
    sc.g.arc(sc.sx(o.performance[i]), sc.sy(o.stability[i]), promoted ? 6 : 3.5, 0, 2 * Math.PI);
    sc.g.fill();
  });
  $("#tradeoff").dataset.points = String(o.cycle.length);
  const episodes = [];
  $("#episode-len").textContent = o.episode_length;
  o.reward.forEach((r, i) => { const e = Math.floor(i / o.episode_length); (episodes[e] ||= []).push(r); });
  const means = episodes.map((rs) => rs.reduce((a, b) => a + b, 0) / rs.length);
  const bars = frame($("#episodes"), "episode", "mean reward", [0.5, means.length + 0.5], [0, Math.max(...means) * 1.1]);
  const width = Math.max(2, (bars.sx(1.4) - bars.sx(0.6)));
  bars.g.fillStyle = "#2f6fdd";
  means.forEach((m, i) => bars.g.fillRect(bars.sx(i + 1) - width / 2, bars.sy(m), width, bars.sy(0) - bars.sy(m)));
  $("#episodes").dataset.bars = String(means.length);
}

// Parameter views (as optuna-dashboard has them): importance, parallel coordinates, slices.
const axisValue = (p, v) => {
  if (p.options) return p.options.length > 1 ? p.options.findIndex((o) => o === v) / (p.options.length - 1) : 0.5;
  if (p.type === "logfloat") return (Math.log(v) - Math.log(p.low)) / (Math.log(p.high) - Math.log(p.low));
  return (v - p.low) / ((p.high - p.low) || 1);
};
let parametersAt = 0;

async function renderParameters(force = false) {
  if (!force && Date.now() - parametersAt < 10000) return;
  parametersAt = Date.now();
  const d = await getJSON("/api/parameters");
  $("#parameters").hidden = d.trials.length < 2 || d.params.length === 0;
  if ($("#parameters").hidden) return;
  $("#evaluator").textContent = d.evaluator;
  const names = d.params.map((p) => p.name);
  const order = d.importance ? Object.keys(d.importance) : names;
  const top = d.importance ? Math.max(...Object.values(d.importance), 1e-9) : 1;
  $("#importance").className = "importance";
  $("#importance").innerHTML = d.importance ? order.map((k) => `<div class="row"><span>${esc(k)}</span>
    <div class="fill" style="width:${(100 * d.importance[k] / top).toFixed(1)}%"></div>
    <span class="num">${fmt(d.importance[k], 3)}</span></div>`).join("") : `<p class="changes">${esc(d.evaluator)}</p>`;
  $("#importance").dataset.params = String(d.importance ? order.length : 0);
  const scores = d.trials.map((t) => t.score), [s0, s1] = range(scores, 0);
  const better = (s) => { const x = (s - s0) / ((s1 - s0) || 1); return d.direction === "minimize" ? 1 - x : x; };
  // parallel coordinates: one axis per parameter (most important first), the score last
  const axes = order.map((k) => d.params.find((p) => p.name === k)).filter(Boolean);
  const canvas = $("#parallel"), pc = frame(canvas, "", "", [0, axes.length], [0, 1]);
  pc.g.clearRect(0, 0, canvas.clientWidth, canvas.clientHeight);
  pc.g.fillStyle = "#6b7385"; pc.g.strokeStyle = "#c5cad6"; pc.g.textAlign = "center"; pc.g.font = "11px system-ui";
  [...axes.map((p) => p.name), "score"].forEach((label, i) => {
    pc.g.beginPath(); pc.g.moveTo(pc.sx(i), pc.sy(0)); pc.g.lineTo(pc.sx(i), pc.sy(1)); pc.g.stroke();
    pc.g.fillText(label.length > 16 ? label.slice(-16) : label, pc.sx(i), canvas.clientHeight - 4);
  });
  // each axis's values: a categorical's choices where they sit, a range's ends and middle
  pc.g.textAlign = "left"; pc.g.fillStyle = "#1d2330";
  const ticks = axes.map((p) => p.options ? p.options.map((o) => [axisValue(p, o), o])
    : [[0, p.low], [0.5, p.type === "logfloat" ? Math.sqrt(p.low * p.high) : (p.low + p.high) / 2], [1, p.high]]);
  ticks.push([[0, s0], [0.5, (s0 + s1) / 2], [1, s1]]);
  let shown = 0;
  ticks.forEach((marks, i) => marks.forEach(([y, v]) => {
    pc.g.fillText(typeof v === "number" ? String(+v.toPrecision(3)) : String(v).slice(0, 10), pc.sx(i) + 3, pc.sy(y) + (y === 1 ? 10 : -2));
    shown++;
  }));
  canvas.dataset.ticks = String(shown);
  const ranked = d.trials.map((t) => ({ t, b: better(t.score) })).sort((a, b) => a.b - b.b);
  for (const { t, b } of ranked) {
    pc.g.strokeStyle = `rgba(47, 111, 221, ${0.08 + 0.8 * b})`;
    pc.g.beginPath();
    axes.forEach((p, i) => { const y = pc.sy(axisValue(p, t.params[p.name])); i ? pc.g.lineTo(pc.sx(i), y) : pc.g.moveTo(pc.sx(i), y); });
    pc.g.lineTo(pc.sx(axes.length), pc.sy((t.score - s0) / ((s1 - s0) || 1)));
    pc.g.stroke();
  }
  canvas.dataset.lines = String(ranked.length);
  // slices: score against each parameter
  $("#slices").innerHTML = axes.map((p, i) => `<canvas data-param="${esc(p.name)}" id="slice-${i}"></canvas>`).join("");
  axes.forEach((p, i) => {
    const c = $(`#slice-${i}`), xs = d.trials.map((t) => p.options ? p.options.findIndex((o) => o === t.params[p.name]) : t.params[p.name]);
    const sc = p.options ? frame(c, p.name, scoreName, [-0.5, p.options.length - 0.5], range(scores), true, p.options)
      : frame(c, p.name, scoreName, range(xs), range(scores));
    if (p.options) c.dataset.labels = p.options.map(String).join("|");
    d.trials.forEach((t, j) => {
      const promoted = t.decision === "promote";
      sc.g.fillStyle = promoted ? "#1a9d5a" : "rgba(47, 111, 221, 0.45)";
      sc.g.beginPath(); sc.g.arc(sc.sx(xs[j]), sc.sy(t.score), promoted ? 5 : 2.5, 0, 2 * Math.PI); sc.g.fill();
    });
    c.dataset.points = String(d.trials.length);
  });
  document.body.dataset.parameters = String(d.trials.length);
}

// every other metric the benchmark printed, per cycle, with the recipe's bounds
let metricsAt = 0;
async function renderMetrics(force = false) {
  if (!force && Date.now() - metricsAt < 10000) return;
  metricsAt = Date.now();
  const m = await getJSON("/api/metrics_by_cycle");
  scoreName = m.score;
  const names = Object.keys(m.metrics);
  $("#metrics").hidden = names.length === 0;
  if (!names.length) return;
  $("#metric-plots").innerHTML = names.map((n, i) => `<canvas data-metric="${esc(n)}" id="metric-${i}"></canvas>`).join("");
  names.forEach((n, i) => {
    const c = $(`#metric-${i}`), s = m.metrics[n], bound = m.constraints[n] || {};
    const ys = [...s.challenger, ...s.champion, bound.min ?? null, bound.max ?? null];
    const f = frame(c, "cycle", n, range(m.cycle.length > 1 ? m.cycle : [m.cycle[0] - 1, m.cycle[0] + 1]), range(ys));
    for (const b of [bound.min, bound.max]) {
      if (b === undefined || b === null) continue;
      f.g.setLineDash([5, 4]); f.g.strokeStyle = "#c0392b"; f.g.beginPath();
      f.g.moveTo(f.sx(m.cycle[0]), f.sy(b)); f.g.lineTo(f.sx(m.cycle[m.cycle.length - 1]), f.sy(b)); f.g.stroke();
      f.g.setLineDash([]);
    }
    f.g.strokeStyle = "#2f6fdd"; f.g.beginPath();
    s.champion.forEach((y, j) => { if (y !== null) { const [x, yy] = [f.sx(m.cycle[j]), f.sy(y)]; j ? f.g.lineTo(x, yy) : f.g.moveTo(x, yy); } });
    f.g.stroke();
    f.g.fillStyle = "rgba(107, 115, 133, 0.8)";
    s.challenger.forEach((y, j) => { if (y !== null) { f.g.beginPath(); f.g.arc(f.sx(m.cycle[j]), f.sy(y), 3, 0, 2 * Math.PI); f.g.fill(); } });
    c.dataset.points = String(s.challenger.filter((y) => y !== null).length);
    c.dataset.bounds = String([bound.min, bound.max].filter((b) => b !== undefined && b !== null).length);
  });
}

// the evaluations on the wall clock: one bar each, from its start to its end, by cycle
let timelineAt = 0;
async function renderTimeline(force = false) {
  if (!force && Date.now() - timelineAt < 10000) return;
  timelineAt = Date.now();
  const t = (await getJSON("/api/timeline")).evaluations;
  $("#timeline-card").hidden = t.length === 0;
  if (!t.length) return;
  const t0 = Math.min(...t.map((e) => e.start)), t1 = Math.max(...t.map((e) => e.end));
  const c0 = Math.min(...t.map((e) => e.cycle)), c1 = Math.max(...t.map((e) => e.cycle));
  const clock = (x) => new Date(x * 1000).toLocaleTimeString([], { hour12: false });
  const f = frame($("#timeline"), "wall clock", "cycle", [t0, t1 + (t1 - t0) * 0.01 + 1e-3], [c0 - 0.5, c1 + 0.5], clock);
  for (const e of t) {
    f.g.fillStyle = !e.ok ? "#c0392b" : e.role.includes("champion") || e.role === "baseline" ? "#2f6fdd" : "#8b93a7";
    const x = f.sx(e.start), w = Math.max(1.5, f.sx(e.end) - x);
    f.g.fillRect(x, f.sy(e.cycle) - 3, w, 6);
  }
  $("#timeline").dataset.bars = String(t.length);
  $("#timeline").dataset.from = clock(t0);
}

// one candidate: its parameters against the champion's, its evidence and gates
async function showCandidate(id) {
  let c;
  try { c = await getJSON(`/api/candidate/${encodeURIComponent(id)}`); } catch (err) { return; }
  $("#candidate").hidden = false;
  $("#c-id").textContent = c.candidate;
  $("#c-origin").textContent = `from ${c.origin}${c.note ? ` (${c.note})` : ""}`;
  $("#c-champion").textContent = `(${c.champion})`;
  const d = c.decision;
  $("#c-decision").innerHTML = d ? `cycle ${d.cycle}: <b class="${esc(d.decision)}">${esc(d.decision)}</b> — ${esc(d.reason)}` : "not decided yet";
  $("#c-params tbody").innerHTML = c.params.map((p) => `<tr class="${p.changed ? "changed" : ""}"><td>${esc(p.name)}</td>
    <td class="num">${val(p.value)}</td><td class="num">${val(p.champion)}</td></tr>`).join("");
  const ev = [["runs or games measured", c.measured.n], ["its mean", fmt(c.measured.mean)]];
  if (d) ev.push(["champion on the same seeds", fmt(d.champion_score)], ...Object.entries(d.stats)
    .filter(([, v]) => typeof v === "number" || typeof v === "boolean").map(([k, v]) => [k, typeof v === "number" ? val(v) : String(v)]));
  for (const [k, v] of Object.entries(c.measured.metrics)) ev.push([k, fmt(v)]);
  $("#c-evidence tbody").innerHTML = ev.map(([k, v]) => `<tr><td>${esc(k)}</td><td class="num">${v}</td></tr>`).join("");
  const gates = d ? d.gates : [];
  $("#c-gates").innerHTML = gates.length ? gates.map((g) => `<span class="gate ${g.passed ? "promote" : "failed"}" title="${esc(g.reason)}">${esc(g.gate)} ${g.passed ? "✓" : "✗"}</span> ${esc(g.reason)}`).join("<br>")
    : "none: no gate ran (gates run only for a challenger the judge would promote)";
  $("#candidate").scrollIntoView({ block: "nearest" });
  document.body.dataset.candidate = c.candidate;
}

// cards a target kind draws itself through (e.g. self-play's ratings): kinds the dashboard
// knows how to draw, whatever the target
let targetViewsAt = 0;
async function renderTargetViews(force = false) {
  if (!force && Date.now() - targetViewsAt < 10000) return;
  targetViewsAt = Date.now();
  const views = await getJSON("/api/target_views");
  $("#target-views").innerHTML = views.map((v, i) => `<section class="card" data-view="${esc(v.kind)}">
    <h2>${esc(v.title)} <small>${esc(v.note || "")}</small></h2>
    ${v.kind === "table" ? tableOf(v) : `<canvas id="view-${i}" class="plot"></canvas>`}</section>`).join("");
  views.forEach((v, i) => { if (v.kind === "intervals") drawIntervals($(`#view-${i}`), v); });
}

function tableOf(v) {
  return `<table><thead><tr>${v.columns.map((c) => `<th>${esc(c)}</th>`).join("")}</tr></thead>
    <tbody>${v.rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}

function drawIntervals(canvas, v) {
  const all = [...v.points, ...v.references].flatMap((p) => [p.low, p.high, p.value]);
  const f = frame(canvas, "", v.unit || "", [-0.5, Math.max(v.points.length - 0.5, 0.5)], range(all, 0.08), false);
  f.g.setLineDash([5, 4]); f.g.textAlign = "left";
  for (const r of v.references) {
    f.g.strokeStyle = "#9aa1b1"; f.g.beginPath();
    f.g.moveTo(f.sx(-0.5), f.sy(r.value)); f.g.lineTo(f.sx(v.points.length - 0.5), f.sy(r.value)); f.g.stroke();
    f.g.fillStyle = "#6b7385"; f.g.fillText(r.label, f.sx(-0.45), f.sy(r.value) - 3);
  }
  f.g.setLineDash([]); f.g.textAlign = "center";
  v.points.forEach((p, i) => {
    f.g.strokeStyle = "#2f6fdd"; f.g.fillStyle = "#2f6fdd";
    f.g.beginPath(); f.g.moveTo(f.sx(i), f.sy(p.low)); f.g.lineTo(f.sx(i), f.sy(p.high)); f.g.stroke();
    f.g.beginPath(); f.g.arc(f.sx(i), f.sy(p.value), 3.5, 0, 2 * Math.PI); f.g.fill();
    if (v.points.length <= 30 || i % Math.ceil(v.points.length / 30) === 0) {
      f.g.fillStyle = "#6b7385"; f.g.fillText(p.label, f.sx(i), canvas.clientHeight - 20);
    }
  });
  canvas.dataset.points = String(v.points.length);
  canvas.dataset.references = String(v.references.length);
}

async function renderGates() {
  const rows = (await getJSON("/api/gates")).filter((r) => r.gates.length > 0);
  $("#gates").hidden = rows.length === 0;
  $("#gates tbody").innerHTML = rows.map((r) => `<tr><td class="num">${r.cycle}</td><td>${esc(r.candidate)}</td>
    <td class="${esc(r.decision)}">${esc(r.decision)}</td><td>${r.gates.map((g) => {
      const advisory = Boolean(g.advisory);
      const cls = advisory ? "gated" : (g.passed ? "promote" : "failed");
      return `<span class="gate ${cls}" title="${esc(g.reason)}">${esc(g.gate.replace(/^gate\./, ""))}${advisory ? " (advisory)" : (g.passed ? " ✓" : " ✗")}</span>`;
    }).join(" ")}</td></tr>`).join("");
}

function connect(after) {
  if (source) source.close();
  const sep = run ? `&run=${encodeURIComponent(run)}` : "";
  source = new EventSource(`/api/events?after=${after}${sep}`);
  source.onopen = () => liveBadge(true);
  source.onerror = () => liveBadge(false);
  source.addEventListener("decision", async (e) => {
    const d = JSON.parse(e.data).data;
    addCycle(d);
    renderCycle(d.cycle);
    renderInFlight();
    renderStatus(await getJSON("/api/status"));
    renderDrift();
    renderMetrics();
    renderTimeline();  // each reads the store afresh: at most every 10 s
    // only runs that measure performance and stability have these views: stop asking
    // once a few cycles have shown that this one does not
    if (!$("#objectives").hidden || cycles.cycle.length <= 3) renderObjectives();
    if (d.decision === "promote") renderChampion(await getJSON("/api/champion"));
    renderParameters(d.decision === "promote");
    if (d.decision === "promote" || d.decision === "gated") renderGates();
    renderTargetViews(d.decision === "promote");
  });
  source.addEventListener("promotion", async () => renderChampion(await getJSON("/api/champion")));
  source.addEventListener("state", (e) => {
    const st = JSON.parse(e.data);
    renderProgress(st);
    if (st.cycle !== state.cycle) { state.cycle = st.cycle; renderInFlight(); }
  });
}

async function load() {
  const runs = await getJSON("/api/runs");
  if (!run) run = runs[0].name;
  $("#run-picker").innerHTML = runs.map((r) => `<option ${r.name === run ? "selected" : ""}>${esc(r.name)}</option>`).join("");
  $("#health-link").href = `/health?run=${encodeURIComponent(run)}`;
  const [status, history, champion] = await Promise.all([getJSON("/api/status"), getJSON("/api/history"), getJSON("/api/champion")]);
  cycles = history.cycles;
  kind = (cycles.elo.some((x) => x !== null) || cycles.games.some((g) => g > 0)) && !cycles.improvement.some((x) => x !== null) ? "games" : "samples";
  renderStatus(status);
  await renderMetrics(true);
  $("#s-evals").textContent = cycles.games.reduce((a, b) => a + (b || 0), 0).toLocaleString();
  drawCurve();
  renderCandidates();
  renderChampion(champion);
  renderCycle(cycles.cycle[cycles.cycle.length - 1]);
  await renderObjectives();
  await renderInFlight();
  await renderParameters(true);
  await Promise.all([renderGates(), renderTargetViews(true), renderDrift(true), renderTimeline(true)]);
  const wanted = new URLSearchParams(location.hash.slice(1)).get("candidate");
  if (wanted) await showCandidate(wanted);
  // ?static: a snapshot, no live stream (a headless screenshot waits for the page to be idle)
  if (new URLSearchParams(location.search).has("static")) { $("#live").textContent = "snapshot"; $("#live").className = "pill off"; }
  else connect(history.last_event_id);
  document.body.dataset.loaded = String(cycles.cycle.length);
}

$("#run-picker").addEventListener("change", (e) => { run = e.target.value; load(); });
$("#filter").addEventListener("change", renderCandidates);
$("#candidates").addEventListener("click", (e) => {
  const row = e.target.closest("tr[data-candidate]");
  if (row) { location.hash = `candidate=${row.dataset.candidate}`; showCandidate(row.dataset.candidate); }
});
$("#c-close").addEventListener("click", () => { $("#candidate").hidden = true; history.replaceState(null, "", location.pathname); });
load().catch((err) => { $("#s-error").textContent = String(err); $("#s-error").className = "bad"; });
