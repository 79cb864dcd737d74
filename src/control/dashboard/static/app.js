// HydraVM dashboard: polls /api/stats and /api/pages, draws with canvas, and
// runs the serial console over the /console WebSocket. No framework, no build.
'use strict';

const PALETTE = ['#4e9bff', '#ff9f43', '#4cd97b', '#ff5d73', '#b38cff', '#ffd84d', '#3fd6d0', '#ff8fd6'];
const NO_OWNER = 255;
const UNOWNED_COLOUR = '#2a2e36';
const HISTORY = 120;
const POLL_MS = 1000;
const ACTIVITIES = [
  ['exec', 'exec', '#4cd97b'],
  ['dsmWait', 'DSM wait', '#ff9f43'],
  ['mmioWait', 'MMIO wait', '#b38cff'],
  ['sbiWait', 'SBI wait', '#ff6b9d'],
  ['idle', 'idle', '#3b4350'],
  ['ready', 'ready', '#4e9bff'],
];

const ui = {
  summary: document.getElementById('summary'),
  error: document.getElementById('error'),
  nodes: document.getElementById('nodes'),
  heat: document.getElementById('heatmap'),
  heatLegend: document.getElementById('heat-legend'),
  heatTip: document.getElementById('heat-tip'),
  faultChart: document.getElementById('fault-chart'),
  latencyChart: document.getElementById('latency-chart'),
  consoleStatus: document.getElementById('console-status'),
  terminal: document.getElementById('terminal'),
};

const state = { prev: null, history: [], pageMap: null, owners: null, layout: null, hot: new Map(), polls: 0 };

function colourOf(node) {
  return PALETTE[node % PALETTE.length];
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

async function getJson(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${await r.text()}`);
  return r.json();
}

function fmtUs(us) {
  if (!(us > 0)) return '-';
  if (us < 1000) return `${Math.round(us)}us`;
  if (us < 1e6) return `${(us / 1000).toFixed(1)}ms`;
  return `${(us / 1e6).toFixed(2)}s`;
}

function fmtNum(n) {
  if (n < 10000) return String(Math.round(n));
  if (n < 1e7) return `${(n / 1000).toFixed(1)}k`;
  return `${(n / 1e6).toFixed(1)}M`;
}

function fmtPage(page) {
  return '0x' + (page * 4096).toString(16).padStart(8, '0');
}

// ---- histograms (log2 us buckets: bucket i holds [2^(i-1), 2^i) us) ----
function quantileUs(buckets, q) {
  const count = buckets.reduce((a, b) => a + b, 0);
  if (count === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * count));
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i];
    if (seen >= rank) return 2 ** i;
  }
  return 2 ** (buckets.length - 1);
}

function faultTotals(n) {
  if (!n.dsm) return 0;
  let t = 0;
  for (const k of Object.keys(n.dsm.faults)) t += n.dsm.faults[k].local + n.dsm.faults[k].remote;
  return t;
}

function latencyBuckets(n) {
  const out = new Array(32).fill(0);
  if (!n || !n.dsm) return out;
  for (const k of Object.keys(n.dsm.latency)) n.dsm.latency[k].buckets.forEach((c, i) => (out[i] += c));
  return out;
}

// ---- history for the charts ----
function record(nodes) {
  const prev = state.prev ? new Map(state.prev.map((n) => [n.node, n])) : null;
  if (prev) {
    const rates = {};
    const merged = new Array(32).fill(0);
    for (const n of nodes) {
      const p = prev.get(n.node);
      if (!n.alive || !p || !p.alive) continue;
      const dt = (n.sampledAtMs - p.sampledAtMs) / 1000;
      const d = faultTotals(n) - faultTotals(p);
      if (dt > 0 && d >= 0) rates[n.node] = d / dt;
      const now = latencyBuckets(n);
      const before = latencyBuckets(p);
      now.forEach((c, i) => (merged[i] += Math.max(0, c - before[i])));
    }
    state.history.push({ t: Date.now(), rates, p50: quantileUs(merged, 0.5), p99: quantileUs(merged, 0.99) });
    if (state.history.length > HISTORY) state.history.shift();
  }
  state.prev = nodes;
}

// ---- nodes and harts ----
function renderNodes(nodes) {
  const prev = state.prev ? new Map(state.prev.flatMap((n) => n.harts.map((h) => [h.id, h]))) : new Map();
  const frag = document.createDocumentFragment();
  for (const n of nodes) {
    const card = el('div', n.alive ? 'node' : 'node dead');
    card.dataset.node = String(n.node);
    const head = el('div', 'node-head');
    const sw = el('span', 'swatch');
    sw.style.background = colourOf(n.node);
    const name = el('span', 'node-name', `node ${n.node}`);
    name.prepend(sw);
    head.append(name);
    if (!n.alive) head.append(el('span', 'meta', 'not answering'));
    else {
      const d = n.dsm;
      const frames = d ? `frames ${fmtNum(d.framesHeld)}${d.maxFrames !== null ? ' / ' + fmtNum(d.maxFrames) : ''}` : '';
      // where the node holds pages: its wasm window, its local tier, or not here (docs/memory.md)
      const m = n.memory;
      const places = m ? `pages resident ${fmtNum(m.resident)} · tier ${fmtNum(m.tier)} · remote ${fmtNum(m.remote)}` : '';
      // adaptive granularity: pages homed here split into blocks, and faults on blocks
      const split = d && d.splitPages !== undefined ? `split ${fmtNum(d.splitPages)} · block faults ${fmtNum(d.blockFaults.read + d.blockFaults.write + d.blockFaults.upgrade)}` : '';
      const skew = n.node === 0 ? 'clock reference' : n.timeSync ? `skew ${(n.timeSync.offsetTicks / 10).toFixed(0)}us ±${(n.timeSync.uncertaintyTicks / 10).toFixed(0)}us` : 'clock not synced';
      const f = n.forwarding;
      const fwd = f ? `fwd ipi ${f.sent.ipi}/${f.received.ipi} mmio ${f.sent.mmio}/${f.received.mmio} irq ${f.sent.irq}/${f.received.irq}` : '';
      head.append(el('span', 'meta', [frames, places, split, skew, fwd].filter(Boolean).join(' · ')));
    }
    card.append(head);
    for (const h of n.harts) {
      const row = el('div', 'hart');
      row.dataset.hart = String(h.id);
      row.append(el('span', null, `hart ${h.id}`), el('span', `state ${h.state}`, h.state));
      const p = prev.get(h.id);
      const delta = {};
      let total = 0;
      for (const [k] of ACTIVITIES) {
        delta[k] = Math.max(0, h.timeMs[k] - (p ? p.timeMs[k] : 0));
        total += delta[k];
      }
      const bar = el('div', 'bar');
      const tip = [];
      for (const [k, label, colour] of ACTIVITIES) {
        const pct = total > 0 ? (100 * delta[k]) / total : 0;
        const s = el('span');
        s.style.width = `${pct}%`;
        s.style.background = colour;
        bar.append(s);
        tip.push(`${label} ${pct.toFixed(1)}%`);
      }
      bar.title = tip.join(', ');
      const exits = Object.values(h.exits).reduce((a, b) => a + b, 0);
      row.append(bar, el('span', 'meta', `${fmtNum(exits)} exits`));
      card.append(row);
    }
    frag.append(card);
  }
  ui.nodes.replaceChildren(frag);
}

function renderTimeLegend() {
  const legend = document.getElementById('time-legend');
  for (const [, label, colour] of ACTIVITIES) {
    const s = el('span', null, label);
    const sw = el('span', 'swatch');
    sw.style.background = colour;
    s.prepend(sw);
    legend.append(s);
  }
}

function renderSummary(nodes) {
  const alive = nodes.filter((n) => n.alive);
  const harts = alive.flatMap((n) => n.harts);
  const running = harts.filter((h) => h.state === 'running').length;
  const last = state.history[state.history.length - 1];
  const rate = last ? Object.values(last.rates).reduce((a, b) => a + b, 0) : 0;
  ui.summary.textContent =
    `${alive.length}/${nodes.length} nodes · ${harts.length} harts (${running} running) · ` +
    `${fmtNum(rate)} faults/s · p99 ${fmtUs(last ? last.p99 : 0)}`;
}

// ---- heat map ----
function decodeOwnerRuns(b64, pageCount) {
  const bin = atob(b64);
  const owners = new Uint8Array(pageCount).fill(NO_OWNER);
  let at = 0;
  for (let k = 0; k + 8 <= bin.length; k += 8) {
    const u32 = (o) => (bin.charCodeAt(o) | (bin.charCodeAt(o + 1) << 8) | (bin.charCodeAt(o + 2) << 16) | (bin.charCodeAt(o + 3) << 24)) >>> 0;
    const owner = u32(k);
    const len = Math.min(u32(k + 4), pageCount - at);
    owners.fill(owner > 254 ? NO_OWNER : owner, at, at + len);
    at += len;
  }
  return owners;
}

function heatLayout(pageCount, canvas) {
  const cols = 128;
  const maxRows = 128;
  const perCell = Math.max(1, Math.ceil(pageCount / (cols * maxRows)));
  const cells = Math.ceil(pageCount / perCell);
  const rows = Math.max(1, Math.ceil(cells / cols));
  const size = Math.max(2, Math.floor(canvas.width / cols));
  return { cols, rows, perCell, cells, size };
}

function drawHeatMap(map) {
  const canvas = ui.heat;
  const owners = decodeOwnerRuns(map.ownerRuns, map.pageCount);
  const L = heatLayout(map.pageCount, canvas);
  state.pageMap = map;
  state.owners = owners;
  state.layout = L;
  state.hot = new Map(map.hot.map((h) => [h.page, h.faults]));
  const height = L.rows * L.size;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#111317';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const counts = new Map();
  for (const o of owners) counts.set(o, (counts.get(o) || 0) + 1);
  const tally = new Array(256);
  for (let c = 0; c < L.cells; c++) {
    // The cell shows the node owning most of its pages.
    tally.fill(0);
    let best = NO_OWNER;
    let bestN = -1;
    const end = Math.min(map.pageCount, (c + 1) * L.perCell);
    for (let i = c * L.perCell; i < end; i++) {
      const o = owners[i];
      if (++tally[o] > bestN) {
        bestN = tally[o];
        best = o;
      }
    }
    ctx.fillStyle = best === NO_OWNER ? UNOWNED_COLOUR : colourOf(best);
    ctx.fillRect((c % L.cols) * L.size, Math.floor(c / L.cols) * L.size, L.size - (L.size > 3 ? 1 : 0), L.size - (L.size > 3 ? 1 : 0));
  }
  // Hot spots: a white core whose opacity grows with log(faults).
  const maxFaults = Math.max(1, ...map.hot.map((h) => h.faults));
  for (const h of map.hot) {
    const i = h.page - map.firstPage;
    if (i < 0 || i >= map.pageCount) continue;
    const c = Math.floor(i / L.perCell);
    const a = 0.35 + 0.65 * (Math.log1p(h.faults) / Math.log1p(maxFaults));
    const x = (c % L.cols) * L.size;
    const y = Math.floor(c / L.cols) * L.size;
    // A yellow halo over the neighbours makes a single hot page visible at 4 px per cell.
    ctx.strokeStyle = `rgba(255,230,80,${a.toFixed(3)})`;
    ctx.lineWidth = 1;
    ctx.strokeRect(x - 1.5, y - 1.5, L.size + 2, L.size + 2);
    ctx.fillStyle = `rgba(255,255,255,${a.toFixed(3)})`;
    ctx.fillRect(x, y, Math.max(1, L.size - 1), Math.max(1, L.size - 1));
  }
  canvas.dataset.owners = JSON.stringify(Object.fromEntries([...counts].filter(([o]) => o !== NO_OWNER).map(([o, n]) => [o, n])));
  const legend = document.createDocumentFragment();
  for (const [o, n] of [...counts].sort((a, b) => a[0] - b[0])) {
    const s = el('span', null, `${o === NO_OWNER ? 'untouched' : 'node ' + o}: ${fmtNum(n)} pages`);
    s.dataset.owner = o === NO_OWNER ? 'none' : String(o);
    const sw = el('span', 'swatch');
    sw.style.background = o === NO_OWNER ? UNOWNED_COLOUR : colourOf(o);
    s.prepend(sw);
    legend.append(s);
  }
  const hotLabel = el('span', null, `${map.hot.length} hot pages, max ${fmtNum(maxFaults)} faults`);
  const hsw = el('span', 'swatch');
  hsw.style.background = '#fff';
  hotLabel.prepend(hsw);
  legend.append(hotLabel);
  ui.heatLegend.replaceChildren(legend);
  const perCell = L.perCell > 1 ? ` (${L.perCell} pages per cell)` : '';
  ui.heat.title = `${map.pageCount} pages from ${fmtPage(map.firstPage)}${perCell}`;
}

function onHeatHover(ev) {
  const L = state.layout;
  const map = state.pageMap;
  if (!L || !map) return;
  const r = ui.heat.getBoundingClientRect();
  const x = ((ev.clientX - r.left) * ui.heat.width) / r.width;
  const y = ((ev.clientY - r.top) * ui.heat.height) / r.height;
  const c = Math.floor(y / L.size) * L.cols + Math.floor(x / L.size);
  if (c < 0 || c >= L.cells) return;
  const first = c * L.perCell;
  const o = state.owners[first];
  let faults = 0;
  for (let i = first; i < Math.min(map.pageCount, first + L.perCell); i++) faults += state.hot.get(map.firstPage + i) || 0;
  const span = L.perCell > 1 ? ` +${L.perCell - 1} pages` : '';
  ui.heatTip.textContent = `${fmtPage(map.firstPage + first)}${span} · owner ${o === NO_OWNER ? 'none' : 'node ' + o} · ${faults ? faults + ' faults (top list)' : 'not hot'}`;
}

// ---- charts ----
function drawChart(canvas, series, opts) {
  const ctx = canvas.getContext('2d');
  const W = canvas.width;
  const H = canvas.height;
  const pad = { l: 48, r: 8, t: 8, b: 18 };
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = '#111317';
  ctx.fillRect(0, 0, W, H);
  const all = series.flatMap((s) => s.values.filter((v) => v > 0));
  let lo = opts.log ? Math.max(1, Math.min(...all, 1)) : 0;
  let hi = Math.max(opts.log ? 10 : 1, ...all);
  if (opts.log) {
    lo = 2 ** Math.floor(Math.log2(lo));
    hi = 2 ** Math.ceil(Math.log2(hi));
  } else hi *= 1.1;
  const yOf = (v) => {
    const f = opts.log ? (Math.log2(Math.max(v, lo)) - Math.log2(lo)) / Math.max(1, Math.log2(hi) - Math.log2(lo)) : v / hi;
    return H - pad.b - f * (H - pad.t - pad.b);
  };
  const xOf = (i) => pad.l + (i / (HISTORY - 1)) * (W - pad.l - pad.r);
  ctx.strokeStyle = '#2a2e36';
  ctx.fillStyle = '#8a919c';
  ctx.font = '11px sans-serif';
  ctx.lineWidth = 1;
  const ticks = opts.log ? [] : [0, hi / 2, hi];
  if (opts.log) for (let v = lo; v <= hi; v *= 8) ticks.push(v);
  for (const v of ticks) {
    const y = Math.round(yOf(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(pad.l, y);
    ctx.lineTo(W - pad.r, y);
    ctx.stroke();
    ctx.fillText(opts.format(v), 4, y + 4);
  }
  ctx.fillText(`last ${HISTORY}s`, W - pad.r - 60, H - 4);
  series.forEach((s, k) => {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    const off = HISTORY - s.values.length;
    s.values.forEach((v, i) => {
      const x = xOf(off + i);
      const y = yOf(v);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
    ctx.fillStyle = s.colour;
    if (s.values.length > 0) {
      // Mark the newest point, so a series with one sample is visible too.
      ctx.beginPath();
      ctx.arc(xOf(HISTORY - 1), yOf(s.values[s.values.length - 1]), 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.fillText(s.label, pad.l + 6 + k * 70, pad.t + 10);
  });
}

function drawCharts() {
  const nodes = [...new Set(state.history.flatMap((h) => Object.keys(h.rates).map(Number)))].sort((a, b) => a - b);
  drawChart(
    ui.faultChart,
    nodes.map((n) => ({ label: `node ${n}`, colour: colourOf(n), values: state.history.map((h) => h.rates[n] || 0) })),
    { log: false, format: fmtNum },
  );
  drawChart(
    ui.latencyChart,
    [
      { label: 'p50', colour: '#4cd97b', values: state.history.map((h) => h.p50) },
      { label: 'p99', colour: '#ff5d73', values: state.history.map((h) => h.p99) },
    ],
    { log: true, format: fmtUs },
  );
}

// ---- console ----
function startConsole() {
  if (typeof Terminal !== 'function') {
    ui.consoleStatus.textContent = 'unavailable (xterm.js not installed on the server)';
    return;
  }
  // early boot output (SBI earlycon) ends its lines with a bare LF
  const term = new Terminal({ cols: 100, rows: 26, cursorBlink: true, scrollback: 5000, fontSize: 13, convertEol: true });
  term.open(ui.terminal);
  window.hydraTerm = term;
  let ws = null;
  term.onData((d) => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(d);
  });
  const connect = () => {
    ws = new WebSocket(`ws://${location.host}/console`);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      ui.consoleStatus.textContent = 'connected';
      ui.consoleStatus.dataset.state = 'connected';
    };
    ws.onmessage = (e) => term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data));
    ws.onclose = () => {
      ui.consoleStatus.textContent = 'disconnected, retrying...';
      ui.consoleStatus.dataset.state = 'disconnected';
      setTimeout(connect, 2000);
    };
  };
  connect();
  term.focus();
}

// ---- polling ----
async function poll() {
  try {
    const wantPages = state.polls % 2 === 0;
    const [nodes, map] = await Promise.all([getJson('/api/stats'), wantPages ? getJson('/api/pages') : null]);
    renderNodes(nodes);
    record(nodes);
    renderSummary(nodes);
    drawCharts();
    if (map) drawHeatMap(map);
    state.polls++;
    document.body.dataset.polls = String(state.polls);
    ui.error.hidden = true;
  } catch (err) {
    ui.error.hidden = false;
    ui.error.textContent = String(err.message || err);
  }
  setTimeout(poll, POLL_MS);
}

async function start() {
  renderTimeLegend();
  ui.heat.addEventListener('mousemove', onHeatHover);
  try {
    const info = await getJson('/api/info');
    if (info.console) startConsole();
    else ui.consoleStatus.textContent = 'no console on this node';
  } catch (err) {
    ui.consoleStatus.textContent = `unavailable: ${err.message}`;
  }
  poll();
}

start();
