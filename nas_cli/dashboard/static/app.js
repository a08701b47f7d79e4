// nas dashboard: each page fetches its JSON from /api/... every `refresh` seconds and redraws.
// Charts: plotly.js, served by the dashboard from the installed plotly package.
"use strict";

const main = document.getElementById("main");
const statusLine = document.getElementById("status");
const page = document.body.dataset.page;
let settings = { refresh: 5, allow_actions: false };

const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const fmt = (v, digits = 2) => (v === null || v === undefined ? "–" : typeof v !== "number" ? esc(v) : Number.isInteger(v) ? String(v) : v.toFixed(digits));
const ago = (s) => (s === null || s === undefined ? "–" : s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);
const layout = (title, extra = {}) => ({
  title: { text: title, font: { size: 13 } }, margin: { l: 50, r: 15, t: 35, b: 45 }, font: { size: 11 },
  legend: { orientation: "h", y: -0.3, yanchor: "top" }, ...extra,
});
const plot = (id, traces, lay) => Plotly.react(id, traces, lay, { displayModeBar: false, responsive: true });

async function getJSON(url) {
  const response = await fetch(url, { cache: "no-store" });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function card(label, value) {
  return `<div class="card"><span class="muted">${esc(label)}</span><b>${value}</b></div>`;
}

// a sortable table: columns [{key, label, text?, render?}], rows of objects
function table(columns, rows, sort) {
  const sorted = [...rows];
  if (sort && sort.key) {
    const col = columns.find((c) => c.key === sort.key);
    const value = col && col.sortValue ? col.sortValue : (r) => r[sort.key];
    sorted.sort((a, b) => {
      const x = value(a), y = value(b);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * (sort.desc ? -1 : 1);
    });
  }
  const head = columns.map((c) => `<th data-key="${esc(c.key)}" class="${c.text ? "text" : ""}">${esc(c.label)}${sort && sort.key === c.key ? (sort.desc ? " ▾" : " ▴") : ""}</th>`).join("");
  const body = sorted.map((r) => "<tr>" + columns.map((c) => `<td class="${c.cls || (c.text ? "text" : "")}">${c.render ? c.render(r) : fmt(r[c.key])}</td>`).join("") + "</tr>").join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function sortable(container, sort, redraw) {
  container.querySelectorAll("th").forEach((th) => th.addEventListener("click", () => {
    sort.desc = sort.key === th.dataset.key ? !sort.desc : true;
    sort.key = th.dataset.key;
    redraw();
  }));
}

function loop(refresh) {
  const tick = async () => {
    try {
      await refresh();
      statusLine.textContent = `updated ${new Date().toLocaleTimeString()} · every ${settings.refresh} s`;
      statusLine.classList.remove("bad");
    } catch (err) {
      statusLine.textContent = `error: ${err.message}`;
      statusLine.classList.add("bad");
    }
    document.body.dataset.ready = "1"; // the browser test waits for this
    setTimeout(tick, settings.refresh * 1000);
  };
  tick();
}

// ---------------------------------------------------------------- the pool page
function poolPage() {
  main.innerHTML = `
    <div id="cards" class="cards"></div>
    <div class="charts">
      <div id="curve" class="chart"></div><div id="pyramid" class="chart"></div>
      <div id="tau" class="chart"></div><div id="lineage" class="chart"></div>
    </div>
    <h2>Candidates</h2>
    <div class="filters">
      <input id="filter" placeholder="filter: architecture, lineage, status" size="40">
      <select id="level"><option value="">every level</option></select>
      <a href="/api/candidates.csv" download="candidates.csv">candidates.csv</a>
      <a href="/api/curves.csv" download="curves.csv">curves.csv</a>
      <span id="shown" class="muted"></span>
    </div>
    <div id="candidates" class="scroll"></div>
    <h2>Running jobs (leases)</h2><div id="leases"></div><h2>Jobs per worker</h2><div id="workers"></div>
    <h2>Failed jobs</h2><div id="failed"></div>`;
  const sort = { key: "level", desc: true };
  let table_data = null;
  const filter = document.getElementById("filter");
  const level = document.getElementById("level");
  const drawCandidates = () => {
    if (!table_data) return;
    const text = filter.value.toLowerCase();
    const rows = table_data.rows.filter((r) =>
      (!text || `${r.arch} ${r.lineage} ${r.status} ${r.proposal || ""}`.toLowerCase().includes(text)) &&
      (level.value === "" || String(r.level) === level.value));
    const epochs = table_data.budgets.length ? table_data.budgets : [...new Set(table_data.rows.flatMap((r) => Object.keys(r.valid).map(Number)))].sort((a, b) => a - b);
    const columns = [
      { key: "id", label: "id", render: (r) => `<a href="/candidate/${r.id}">${r.id}</a>` },
      { key: "lineage", label: "lineage", text: true, render: (r) => esc(r.lineage) + (r.proposal ? ` <span class="muted">${esc(r.proposal)}</span>` : "") + (r.warm_started ? " ♨" : "") },
      { key: "level", label: "level" },
      { key: "status", label: "status", text: true, render: (r) => `<span class="${r.status === "failed" ? "bad" : ""}">${esc(r.status)}</span>` },
      { key: "epochs_trained", label: "epochs" },
      ...epochs.map((e) => ({ key: `valid@${e}`, label: `valid@${e}`, sortValue: (r) => r.valid[e], render: (r) => fmt(r.valid[e]) })),
      ...table_data.proxies.map((p) => ({ key: `proxy_${p}`, label: p, render: (r) => fmt(r[`proxy_${p}`], 3) })),
      { key: "arch", label: "architecture", text: true, cls: "arch", render: (r) => esc(r.arch) },
    ];
    const box = document.getElementById("candidates");
    box.innerHTML = table(columns, rows, sort);
    sortable(box, sort, drawCandidates);
    document.getElementById("shown").textContent = `${rows.length} of ${table_data.rows.length}`;
  };
  filter.addEventListener("input", drawCandidates);
  level.addEventListener("change", drawCandidates);

  loop(async () => {
    const [ov, cands, work] = await Promise.all([getJSON("/api/overview"), getJSON("/api/candidates"), getJSON("/api/workers")]);
    const s = ov.search;
    const state = s.done ? "finished" : s.running ? `<span class="ok">running</span>` : "not running";
    const best = ov.curve.length ? ov.curve[ov.curve.length - 1] : null;
    document.getElementById("cards").innerHTML = [
      card("search", state), card("space · data", `${esc(ov.space)} · ${esc(ov.dataset)}`),
      card("round · phase", `${fmt(s.round, 0)} · ${esc(s.phase || "–")}`),
      card("epochs spent", `${ov.epochs_spent}${s.budget_epochs ? ` / ${s.budget_epochs}` : ""}`),
      card("candidates", ov.candidates), card("best validation", best ? `${fmt(best.valid_acc)} %` : "–"),
      card("jobs", Object.entries(ov.jobs).map(([k, v]) => `${esc(k)} ${v}`).join(", ") || "none"),
    ].join("");
    plot("curve", [{ x: ov.curve.map((p) => p.cost), y: ov.curve.map((p) => p.valid_acc), text: ov.curve.map((p) => `${p.arch} @${p.epoch}`), mode: "lines+markers", line: { shape: "hv" }, name: "best so far" }],
      layout("best so far (the incumbent's validation)", { xaxis: { title: { text: "epochs spent" } }, yaxis: { title: { text: "%" } } }));
    const levels = [...new Set(ov.rounds.flatMap((r) => Object.keys(r.pyramid)))].sort((a, b) => a - b);
    plot("pyramid", levels.map((l) => ({ type: "bar", name: l === "0" ? "level 0 (proxy only)" : `level ${l}`, x: ov.rounds.map((r) => r.round), y: ov.rounds.map((r) => r.pyramid[l] || 0) })),
      layout("NOSH pyramid after each round", { barmode: "group", xaxis: { title: { text: "round" }, dtick: 1 }, yaxis: { title: { text: "candidates (log)" }, type: "log" }, margin: { l: 50, r: 15, t: 35, b: 90 } }));
    plot("tau", [{ x: ov.ranker_tau.map((t) => t.round), y: ov.ranker_tau.map((t) => t.tau), text: ov.ranker_tau.map((t) => t.ranked_by || ""), mode: "lines+markers", name: "τ" }],
      layout("ranker τ per admission: its order vs level-1 validation", { xaxis: { title: { text: "round (0: by proxy)" }, dtick: 1 }, yaxis: { range: [-1, 1] } }));
    plot("lineage", [{ type: "bar", x: Object.keys(ov.lineage), y: Object.values(ov.lineage) }], layout("candidates by lineage"));

    const known = new Set([...level.options].map((o) => o.value));
    Object.keys(ov.levels).forEach((l) => { if (!known.has(l)) level.add(new Option(`level ${l}`, l)); });
    table_data = cands;
    drawCandidates();
    drawWorkers(work);
  });
}

function drawWorkers(work) {
  document.getElementById("leases").innerHTML = work.leases.length ? table([
    { key: "worker", label: "worker", text: true }, { key: "job", label: "job" },
    { key: "candidate", label: "candidate", render: (r) => `<a href="/candidate/${r.candidate}">${r.candidate}</a>` },
    { key: "to_epoch", label: "to epoch" }, { key: "attempt", label: "attempt" },
    { key: "heartbeat_age", label: "heartbeat", render: (r) => `<span class="${r.stale ? "bad" : ""}">${ago(r.heartbeat_age)} ago${r.stale ? " (stale)" : ""}</span>` },
    { key: "running_for", label: "running for", render: (r) => ago(r.running_for) },
  ], work.leases) : `<p class="muted">no job is running</p>`;
  const names = Object.keys(work.workers);
  document.getElementById("workers").innerHTML = names.length ? table([
    { key: "name", label: "worker", text: true }, { key: "done", label: "done" }, { key: "running", label: "running" },
    { key: "failed", label: "failed" }, { key: "queued", label: "requeued" },
  ], names.map((n) => ({ name: n, ...work.workers[n] }))) : "";
  const box = document.getElementById("failed");
  box.innerHTML = work.failed.length ? table([
    { key: "job", label: "job" },
    { key: "candidate", label: "candidate", render: (r) => `<a href="/candidate/${r.candidate}">${r.candidate}</a>` },
    { key: "worker", label: "worker", text: true }, { key: "attempts", label: "attempts" },
    { key: "error", label: "error", text: true, cls: "arch", render: (r) => `<span class="bad">${esc(r.error)}</span>` },
    { key: "retry", label: "", render: (r) => (work.allow_actions && r.retryable ? `<button data-retry="${r.candidate}">retry</button>` : "") },
  ], work.failed) : `<p class="muted">none</p>`;
  box.querySelectorAll("button[data-retry]").forEach((b) => b.addEventListener("click", async () => {
    const response = await fetch(`/api/retry/${b.dataset.retry}`, { method: "POST", headers: { "X-NAS-Dashboard": "1" } });
    b.replaceWith(response.ok ? "reset: a search or worker trains it again" : `refused (${response.status})`);
  }));
}

// ---------------------------------------------------------------- one candidate
function candidatePage() {
  const id = location.pathname.split("/").filter(Boolean)[1];
  main.innerHTML = `<h2>Candidate ${esc(id)}</h2><div id="cards" class="cards"></div>
    <div class="charts"><div><img class="cell" src="/api/candidate/${esc(id)}/cell.svg" alt="cell"></div><div id="curve" class="chart"></div></div>
    <h2>Retrain it</h2><pre id="retrain"></pre><h2>Checkpoints</h2><div id="checkpoints"></div><h2>Proxy scores</h2><div id="proxies"></div>`;
  loop(async () => {
    const c = await getJSON(`/api/candidate/${id}`);
    document.getElementById("cards").innerHTML = [
      card("lineage", esc(c.lineage) + (c.proposal ? ` · ${esc(c.proposal)}` : "") + (c.warm_started ? " · warm-started" : "")),
      card("parent", c.parent_id ? `<a href="/candidate/${c.parent_id}">${c.parent_id}</a>` : "–"),
      card("level", c.level), card("status", esc(c.status)), card("epochs trained", c.epochs_trained),
      card("architecture", `<span class="arch">${esc(c.arch)}</span>`),
    ].join("") + (c.error ? `<p class="bad">${esc(c.error)}</p>` : "");
    const x = c.curve.map((r) => r.epoch);
    plot("curve", [
      { x, y: c.curve.map((r) => r.valid_acc), name: "validation accuracy (%)", mode: "lines+markers" },
      { x, y: c.curve.map((r) => r.train_acc), name: "train accuracy (%)", mode: "lines" },
      { x, y: c.curve.map((r) => r.train_loss), name: "train loss", mode: "lines", yaxis: "y2" },
    ], layout("learning curve", { xaxis: { title: { text: "epoch" } }, yaxis2: { overlaying: "y", side: "right", title: { text: "loss" } } }));
    document.getElementById("retrain").textContent = c.retrain;
    document.getElementById("checkpoints").innerHTML = c.checkpoints.length ? table([{ key: "epoch", label: "epoch" }, { key: "key", label: "key", text: true }], c.checkpoints) : `<p class="muted">none kept</p>`;
    const proxies = Object.entries(c.proxies);
    document.getElementById("proxies").innerHTML = proxies.length ? table([{ key: "name", label: "proxy", text: true }, { key: "score", label: "score", render: (r) => fmt(r.score, 4) }], proxies.map(([name, score]) => ({ name, score }))) : `<p class="muted">none</p>`;
  });
}

// ---------------------------------------------------------------- a differentiable search
function runPage() {
  const relative = location.pathname.replace(/^\/run\/?/, "");
  const api = `/api/run/${relative}`;
  main.innerHTML = `<div id="cards" class="cards"></div>
    <div class="charts"><div id="valid" class="chart"></div><div id="skips" class="chart"></div><div id="eigen" class="chart"></div>
    <div><img id="cell" class="cell" alt="the current argmax cell"></div></div>
    <h2>Mixing weights per edge</h2><div id="alphas"></div>`;
  loop(async () => {
    const r = await getJSON(api);
    const h = r.history;
    const last = h.length ? h[h.length - 1] : {};
    document.getElementById("cards").innerHTML = [
      card("method", esc(r.method)), card("space · data", `${esc(r.space)} · ${esc(r.dataset)}`),
      card("epoch", `${h.length} / ${r.epochs}${r.finished ? " (finished)" : ""}`),
      card("validation", `${fmt(last.valid_acc)} %`), card("argmax cell", `<span class="arch">${esc(r.genotype)}</span>`),
    ].join("");
    const x = h.map((e) => e.epoch);
    plot("valid", [{ x, y: h.map((e) => e.valid_acc), name: "validation", mode: "lines+markers" }, { x, y: h.map((e) => e.train_acc), name: "train", mode: "lines" }],
      layout("supernet accuracy (%)", { xaxis: { title: { text: "epoch" } } }));
    const types = h.length ? Object.keys(last.skips || {}) : [];
    plot("skips", types.map((t) => ({ x, y: h.map((e) => (e.skips || {})[t]), name: t, mode: "lines+markers" })), layout("skip_connect in the argmax cell", { xaxis: { title: { text: "epoch" } } }));
    const eig = h.filter((e) => e.eigenvalue !== null && e.eigenvalue !== undefined);
    plot("eigen", [{ x: eig.map((e) => e.epoch), y: eig.map((e) => e.eigenvalue), mode: "lines+markers", name: "λ_max" }], layout(eig.length ? "dominant eigenvalue of ∇²_α L_valid" : "dominant eigenvalue (not recorded: --hessian-every N)", { xaxis: { title: { text: "epoch" } } }));
    document.getElementById("cell").src = `${api.replace(/\/$/, "")}/cell.svg?epoch=${h.length}`;
    const box = document.getElementById("alphas");
    if (!box.dataset.built) {
      box.innerHTML = Object.entries(r.ops).map(([t, edges]) => `<h3>${esc(t)} cell</h3><div class="small-multiples">` + edges.map((_, i) => `<div id="a-${t}-${i}" class="chart"></div>`).join("") + "</div>").join("");
      box.dataset.built = "1";
    }
    Object.entries(r.ops).forEach(([t, edges]) => edges.forEach((ops, i) => plot(`a-${t}-${i}`,
      ops.map((op, k) => ({ x, y: h.map((e) => ((e.probabilities[t] || [])[i] || [])[k]), name: op, mode: "lines" })),
      layout(`edge ${i}`, { margin: { l: 35, r: 5, t: 25, b: 25 }, showlegend: i === 0, xaxis: { dtick: Math.max(1, Math.ceil(h.length / 6)) } }))));
  });
}

// ---------------------------------------------------------------- the runs of a folder
function runsPage() {
  main.innerHTML = `<h2>Runs</h2><div id="runs"></div>`;
  loop(async () => {
    const runs = await getJSON("/api/runs");
    document.getElementById("runs").innerHTML = runs.length ? table([
      { key: "state", label: "state", text: true }, { key: "kind", label: "kind", text: true },
      { key: "progress", label: "progress", text: true }, { key: "best_valid", label: "best valid" },
      { key: "updated", label: "updated", render: (r) => new Date(r.updated * 1000).toLocaleString() },
      { key: "relative", label: "run", text: true, render: (r) => (r.kind === "diff" ? `<a href="/run/${esc(r.relative)}">${esc(r.relative)}</a>` : esc(r.relative)) },
      { key: "best", label: "best architecture", text: true, cls: "arch" },
    ], runs) : `<p class="muted">no runs in this folder</p>`;
  });
}

(async () => {
  try { settings = await getJSON("/api/settings"); } catch (err) { /* defaults */ }
  ({ pool: poolPage, candidate: candidatePage, run: runPage, runs: runsPage })[page]();
})();
