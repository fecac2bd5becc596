// app.js - the dashboard's behaviour: polls the daemon's API and draws what it answers.
//
// Reads GET /v1/model (the published model; the learning curve lives in its metadata),
// GET /v1/admin/status (the trainer: state, progress, last run with the gate's decision),
// GET /v1/items?prefix= (search suggestions), /v1/items/{id} and /v1/items/{id}/neighbors;
// PUT and DELETE /v1/items/{id}/hidden (the item's Hide / Unhide button).
// A 401 opens the token panel; the token is kept in sessionStorage only. No libraries: the
// daemon's Content-Security-Policy allows this script and the page's style sheet, nothing else.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = 'walkrecd.admin_token';
  const SVG_NS = 'http://www.w3.org/2000/svg';

  // ---- small helpers ----

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('data-')) e.dataset[k.slice(5)] = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  const isNum = (v) => typeof v === 'number' && isFinite(v);
  const fmt = (v, d = 4) => (isNum(v) ? v.toFixed(d) : '–');
  const int = (v) => (isNum(v) ? v.toLocaleString('en-US') : '–');

  function seconds(s) {
    if (!isNum(s)) return '–';
    if (s < 1) return (s * 1000).toFixed(0) + ' ms';
    if (s < 90) return s.toFixed(1) + ' s';
    if (s < 5400) return (s / 60).toFixed(1) + ' min';
    return (s / 3600).toFixed(1) + ' h';
  }

  function when(unix) {
    if (!isNum(unix) || unix <= 0) return '–';
    const d = new Date(unix * 1000), pad = (n) => String(n).padStart(2, '0');
    const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
                 `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    return `${text} (${seconds(Date.now() / 1000 - unix)} ago)`;
  }

  // A definition list from [label, value] rows; values may be nodes.
  function fillKV(dl, rows) {
    dl.replaceChildren();
    for (const [k, v] of rows) {
      if (v === undefined || v === null) continue;
      dl.append(el('dt', { text: k }), el('dd', {}, v instanceof Node ? v : String(v)));
    }
  }

  // ---- the API, with the admin token when the daemon asks for it ----

  let tokenPrompt = null; // the pending prompt, shared by every call that met a 401

  function askToken(route, refused) {
    if (tokenPrompt) return tokenPrompt;
    $('token-route').textContent = route;
    const err = $('token-error');
    err.hidden = !refused;
    err.textContent = refused ? 'The daemon refused that token; try again.' : '';
    $('token-panel').hidden = false;
    $('token-input').value = '';
    $('token-input').focus();
    tokenPrompt = new Promise((resolve) => {
      $('token-form').onsubmit = (ev) => {
        ev.preventDefault();
        const t = $('token-input').value.trim();
        if (!t) return;
        sessionStorage.setItem(TOKEN_KEY, t);
        $('token-panel').hidden = true;
        $('forget-token').hidden = false;
        tokenPrompt = null;
        resolve();
      };
    });
    return tokenPrompt;
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // A write (PUT, DELETE) says its (absent) body is JSON, as writes without the token must.
  async function api(path, method = 'GET') {
    for (;;) {
      const token = sessionStorage.getItem(TOKEN_KEY);
      const headers = token ? { Authorization: 'Bearer ' + token } : {};
      if (method !== 'GET') headers['Content-Type'] = 'application/json';
      let r;
      try {
        r = await fetch(path, { method, headers, cache: 'no-cache' });
      } catch (e) {
        $('conn').hidden = false;
        throw new ApiError(0, 'network', 'the daemon does not answer');
      }
      $('conn').hidden = true;
      if (r.status === 401) {
        if (token) sessionStorage.removeItem(TOKEN_KEY);
        await askToken(path.split('?')[0], !!token);
        continue;
      }
      let body = null;
      try {
        body = await r.json();
      } catch (e) {
        body = null;
      }
      if (!r.ok) {
        const e = body && body.error ? body.error : {};
        throw new ApiError(r.status, e.code || 'http', e.message || `${r.status} ${r.statusText}`);
      }
      return body;
    }
  }

  const enc = encodeURIComponent;

  // ---- the published model ----

  let model = null;

  function trainingRows(t) {
    if (!t || typeof t !== 'object') return [];
    const tr = t.trainer || {}, w = t.walks || {};
    const rows = [];
    if (tr.mode || t.algorithm) {
      const mode = { sg: 'skip-gram', cbow: 'CBOW' }[tr.mode] || tr.mode;
      const parts = [t.algorithm || mode, tr.dim && `dim ${tr.dim}`,
        tr.window && `window ${tr.window}`, tr.negative && `negative ${tr.negative}`,
        tr.epochs && `${tr.epochs} epochs`, tr.lr && `lr ${tr.lr}`, tr.lr_schedule];
      rows.push(['Trainer', parts.filter(Boolean).join(', ')]);
    }
    if (w.walks_per_item) {
      rows.push(['Walks', `${w.walks_per_item} per item × ${w.length} items, p ${w.p}, q ${w.q}`]);
    }
    if (isNum(t.pairs)) rows.push(['Training pairs', int(t.pairs)]);
    if (isNum(t.tokens)) rows.push(['Tokens', int(t.tokens)]);
    if (t.source) rows.push(['Trained from', t.source]);
    return rows;
  }

  function renderModel(m) {
    model = m;
    $('gen-badge').textContent = `generation ${m.generation}`;
    $('gen-badge').className = 'badge live';
    $('model-msg').hidden = true;
    const ix = m.index || {};
    let index = ix.kind === 'none' ? 'no precomputed lists (exact scans)'
      : `${ix.kind}, ${int(ix.k)} neighbours per item, built in ${seconds(ix.build_seconds)}`;
    if (ix.approximate) index += `, recall@10 ${fmt(ix.approximate.recall_at_10, 3)}`;
    const side = m.side_info || {};
    fillKV($('model'), [
      ['Generation', m.generation],
      ['Items', int(m.items)],
      ['Dimensions', m.dim],
      ['Trained', when(m.created)],
      ['Published', when(m.published_at)],
      ['Training time', seconds(m.training_seconds)],
      ...trainingRows(m.training),
      ['Index', index],
      ['Side information', side.columns && side.columns.length
        ? `${side.columns.join(', ')} (${int(side.rows)} items described)` : 'none'],
    ]);
    renderCurve(m.training && m.training.learning_curve, m.training);
  }

  function modelMissing(e) {
    model = null;
    $('gen-badge').textContent = 'no model';
    $('gen-badge').className = 'badge';
    $('model-msg').hidden = false;
    $('model-msg').textContent = e.code === 'no_model'
      ? 'No model is published yet (the first one is loading or training).'
      : `Cannot read the model: ${e.message}`;
    $('model').replaceChildren();
  }

  async function loadModel() {
    try {
      renderModel(await api('/v1/model'));
    } catch (e) {
      modelMissing(e);
    }
  }

  // ---- the learning curve: AUC on the validation pairs during training ----

  function niceTicks(lo, hi, n) {
    const span = hi - lo, raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((s) => s * mag).find((s) => span / s <= n) || raw;
    const ticks = [];
    for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9; v += step) ticks.push(v);
    return { ticks, step };
  }

  function renderCurve(points, meta) {
    const box = $('curve');
    box.replaceChildren();
    if (!Array.isArray(points) || points.length === 0) {
      box.append(el('p', { class: 'muted', text: 'This model has no learning curve ' +
        '(models trained with walkrec train --val record one).' }));
      return;
    }
    const epochs = (meta.trainer && meta.trainer.epochs) ||
      Math.max(1, points[points.length - 1].epoch || 1);
    const series = [
      { key: 'auc_all', label: 'AUC, all pairs', cls: 'line-all' },
      { key: 'auc_seen', label: 'AUC, seen items', cls: 'line-seen' },
    ];
    const xs = points.map((p) => p.progress * epochs);
    const vals = points.flatMap((p) => series.map((s) => p[s.key])).filter(isNum);
    let lo = Math.min(...vals), hi = Math.max(...vals);
    const pad = Math.max((hi - lo) * 0.1, 0.005);
    lo = Math.max(0, lo - pad);
    hi = Math.min(1, hi + pad);
    const W = 440, H = 250, L = 48, R = 12, T = 10, B = 62;
    const x = (v) => L + (v / epochs) * (W - L - R);
    const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
      'aria-label': 'Learning curve: validation AUC against training epochs' });
    const yt = niceTicks(lo, hi, 5);
    for (const v of yt.ticks) {
      s.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }));
      s.append(svg('text', { x: L - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end' },
        v.toFixed(yt.step < 0.01 ? 3 : 2)));
    }
    for (let e = 0; e <= epochs; e++) {
      s.append(svg('line', { x1: x(e), x2: x(e), y1: T, y2: H - B, class: e ? 'epoch' : 'axis' }));
      if (epochs <= 20 || e % Math.ceil(epochs / 10) === 0) {
        s.append(svg('text', { x: x(e), y: H - B + 16, class: 'tick', 'text-anchor': 'middle' },
          e));
      }
    }
    s.append(svg('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }));
    s.append(svg('text', { x: (L + W - R) / 2, y: H - B + 32, class: 'label',
      'text-anchor': 'middle' },
      'epochs (dashed: epoch boundaries)'));
    s.append(svg('text', { x: 12, y: (T + H - B) / 2, class: 'label', 'text-anchor': 'middle',
      transform: `rotate(-90 12 ${(T + H - B) / 2})` }, 'validation AUC'));
    series.forEach((ser, i) => {
      const pts = points.map((p, j) => [xs[j], p[ser.key]]).filter((q) => isNum(q[1]));
      if (!pts.length) return;
      s.append(svg('polyline', { class: ser.cls,
        points: pts.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ') }));
      for (const [a, b] of pts) {
        s.append(svg(i ? 'rect' : 'circle', i
          ? { x: x(a) - 2.5, y: y(b) - 2.5, width: 5, height: 5, class: ser.cls + ' mark point' }
          : { cx: x(a), cy: y(b), r: 2.8, class: ser.cls + ' mark point' }));
      }
      const ly = H - 8, lx = L + i * 170;
      s.append(svg('line', { x1: lx, x2: lx + 26, y1: ly - 4, y2: ly - 4, class: ser.cls }));
      s.append(svg(i ? 'rect' : 'circle', i
        ? { x: lx + 10.5, y: ly - 6.5, width: 5, height: 5, class: ser.cls + ' mark' }
        : { cx: lx + 13, cy: ly - 4, r: 2.8, class: ser.cls + ' mark' }));
      s.append(svg('text', { x: lx + 32, y: ly, class: 'legend' }, ser.label));
    });
    const last = points[points.length - 1];
    box.append(s, el('p', { class: 'caption', text:
      `${points.length} points; at the end AUC ${fmt(last.auc_all)} on all validation pairs, ` +
      `${fmt(last.auc_seen)} on pairs of items seen in training.` }));
  }

  // ---- the trainer ----

  let status = null;

  function renderProgress(p, state) {
    const box = $('progress');
    box.hidden = !p || state === 'idle';
    if (box.hidden) return;
    const frac = isNum(p.fraction) ? Math.min(1, Math.max(0, p.fraction)) : null;
    $('progress-step').textContent = `${p.step}: ${int(p.done)}` +
      (p.total ? ` of ${int(p.total)}` : '') + ` ${p.unit}` +
      (frac !== null ? ` (${(frac * 100).toFixed(0)}%)` : '');
    $('progress-eta').textContent = isNum(p.seconds_left) ? `${seconds(p.seconds_left)} left` : '';
    const fill = $('progress-fill');
    fill.classList.toggle('indeterminate', frac === null);
    fill.style.width = frac === null ? '30%' : `${(frac * 100).toFixed(1)}%`;
  }

  function renderStatus(s) {
    status = s;
    const st = $('state');
    st.textContent = s.state;
    st.className = `state ${s.state}`;
    renderProgress(s.progress, s.state);
    const gens = (s.generations || []).map((g) => `${g.generation} (${g.state})`).join(', ');
    $('trainer-msg').textContent = s.role === 'follower'
      ? 'This instance follows a trainer: it loads the generations the trainer publishes.' : '';
    fillKV($('trainer'), [
      ['State for', seconds(s.state_seconds)],
      ['Live generation', s.generation],
      ['Model file', s.model_file ? el('code', { text: s.model_file }) : undefined],
      ['Runs', `${int(s.runs)} (${int(s.published)} published, ${int(s.refused)} refused)`],
      ['Pairs pending', int(s.pending_pairs)],
      ['Provisional items', int(s.provisional_items)],
      ['Hidden items', int(s.hidden_items)],
      ['Retrain mode', s.retrain_mode],
      ['Generations kept', gens || 'none'],
      ['Rollback ready', s.rollback_ready ? 'yes' : 'no'],
      s.log ? ['Pair log', `${int(s.log.pairs)} pairs in ${int(s.log.records - (s.log.items || 0))}` +
        ` batches` + (s.log.items ? `, ${int(s.log.items)} item changes` : '')]
        : ['Pair log', undefined],
      s.last_error ? ['Last error', el('span', { class: 'error',
        text: `${s.last_error.message} (${when(s.last_error.at)})` })] : ['Last error', undefined],
    ]);
    renderRun(s.last_run);
    renderHistory(s.history || []);
  }

  // Every run's decision, newest first: kept by the daemon across restarts (runs.jsonl).
  function renderHistory(runs) {
    const box = $('history');
    box.replaceChildren();
    if (!runs.length) {
      box.append(el('p', { class: 'muted', text: 'None yet.' }));
      return;
    }
    const table = el('table', { class: 'metrics' });
    table.append(el('thead', {}, el('tr', {},
      ...['When', 'Generation', 'Decision', 'AUC candidate', 'AUC live', 'Seconds'].map(
        (t, i) => el('th', { class: i > 2 ? 'num' : '', text: t })))));
    const tb = el('tbody');
    for (const r of runs.slice().reverse()) {
      const c = r.candidate || {}, l = r.live || {};
      tb.append(el('tr', {},
        el('td', { text: when(r.started_at) }),
        el('td', { text: String(r.generation) }),
        el('td', {}, el('span', { class: `decision ${r.decision}`, text: r.decision })),
        el('td', { class: 'num', text: fmt(c.auc_all) }),
        el('td', { class: 'num', text: fmt(l.auc_all) }),
        el('td', { class: 'num', text: seconds(r.seconds) })));
    }
    table.append(tb);
    box.append(table);
  }

  function renderRun(r) {
    const box = $('run');
    box.replaceChildren();
    if (!r) {
      box.append(el('p', { class: 'muted', text: 'No retraining run yet.' }));
      const e = model && model.evaluation;
      if (e && (isNum(e.auc_all) || isNum(e.auc))) {
        box.append(el('p', { text: 'Recorded with the published model: AUC ' +
          fmt(isNum(e.auc_all) ? e.auc_all : e.auc) + ' on all validation pairs' +
          (isNum(e.auc_seen) ? `, ${fmt(e.auc_seen)} on pairs of seen items.` : '.') }));
      }
      return;
    }
    const c = r.candidate || {}, l = r.live || {};
    box.append(el('p', { class: 'run-head' },
      el('span', { class: `decision ${r.decision}`, text: r.decision }),
      ` candidate ${r.generation || '–'} · trigger ${r.trigger} · ${r.mode} · ` +
      `${when(r.started_at)} · took ${seconds(r.seconds)}`));
    if (r.reason) box.append(el('p', { class: 'reason', text: r.reason }));
    const table = el('table', { class: 'metrics' });
    table.append(el('thead', {}, el('tr', {},
      el('th', { text: 'Validation' }),
      el('th', { class: 'num', text: `Candidate ${r.generation || ''}` }),
      el('th', { class: 'num', text: `Live ${l.generation || ''}` }),
      el('th', { class: 'num', text: 'Change' }))));
    const tb = el('tbody');
    for (const [label, key] of [['AUC, all pairs', 'auc_all'], ['AUC, seen items', 'auc_seen'],
      ['Recall@10', 'recall_at_10']]) {
      const d = isNum(c[key]) && isNum(l[key]) ? c[key] - l[key] : null;
      tb.append(el('tr', {},
        el('td', { text: label }),
        el('td', { class: 'num', 'data-metric': 'candidate-' + key, text: fmt(c[key]) }),
        el('td', { class: 'num', text: fmt(l[key]) }),
        el('td', { class: 'num ' + (d === null ? '' : d < 0 ? 'down' : 'up'),
          text: d === null ? '–' : (d >= 0 ? '+' : '') + d.toFixed(4) })));
    }
    table.append(tb);
    box.append(table, el('p', { class: 'caption', text:
      `${int(r.train_pairs)} training pairs, ${int(r.validation_pairs)} validation pairs, ` +
      `lists: overlap@10 with the live ones ${fmt(r.overlap_at_10, 3)}, RBO ` +
      `${fmt(r.rbo_at_10, 3)} over ${int(r.churn_items)} items; the gate refuses a drop ` +
      `of AUC over ${r.gate_max_auc_drop}` +
      (r.gate_max_churn < 1 ? ` and a churn over ${r.gate_max_churn}.` : '.') }));
  }

  let statusTimer = 0;

  async function pollStatus() {
    clearTimeout(statusTimer);
    let next = 2000;
    try {
      const s = await api('/v1/admin/status');
      const changed = !model || s.generation !== model.generation;
      renderStatus(s);
      if (s.state !== 'idle') next = 1000;
      if (changed && s.generation) {
        await loadModel();
        if (current) showItem(current, false);
      } else if (model) {
        renderModel(model); // its times are relative to now
      }
    } catch (e) {
      $('state').textContent = 'unknown';
      $('state').className = 'state';
      $('trainer-msg').textContent = `Cannot read the trainer's status: ${e.message}`;
    }
    statusTimer = setTimeout(pollStatus, next);
  }

  // ---- search and neighbours ----

  let current = null;   // the item shown
  let trail = [];       // items walked, the current one last
  let showSeq = 0;      // answers to older requests are dropped
  let suggestSeq = 0;
  let active = -1;      // highlighted suggestion

  function suggestionItems() {
    return Array.from($('suggestions').querySelectorAll('li'));
  }

  function closeSuggestions() {
    $('suggestions').hidden = true;
    $('search').setAttribute('aria-expanded', 'false');
    active = -1;
  }

  function highlight(i) {
    const items = suggestionItems();
    active = items.length ? (i + items.length) % items.length : -1;
    items.forEach((li, j) => li.setAttribute('aria-selected', String(j === active)));
  }

  async function suggest() {
    const q = $('search').value.trim(), seq = ++suggestSeq;
    if (!q) {
      closeSuggestions();
      return;
    }
    let r;
    try {
      r = await api(`/v1/items?prefix=${enc(q)}&limit=10`);
    } catch (e) {
      if (seq === suggestSeq) $('search-msg').textContent = e.message;
      return;
    }
    if (seq !== suggestSeq) return;
    const ul = $('suggestions');
    ul.replaceChildren();
    for (const id of r.items) {
      const li = el('li', { role: 'option', 'data-id': id },
        el('strong', { text: id.slice(0, q.length) }), id.slice(q.length));
      li.addEventListener('mousedown', (ev) => {
        ev.preventDefault(); // keep the focus: a blur would close the list first
        pick(id);
      });
      ul.append(li);
    }
    if (r.more) ul.append(el('li', { class: 'more', text: 'more…' }));
    if (!r.items.length) ul.append(el('li', { class: 'more', text: 'no item starts with that' }));
    ul.hidden = false;
    $('search').setAttribute('aria-expanded', 'true');
    active = -1;
  }

  function pick(id) {
    closeSuggestions();
    $('search').value = id;
    trail = [];
    go(id);
  }

  // Navigation goes through the URL's fragment, so Back walks back.
  function go(id) {
    const hash = '#item=' + enc(id);
    if (location.hash === hash) fromHash();
    else location.hash = hash;
  }

  function fromHash() {
    const m = /^#item=(.+)$/.exec(location.hash);
    if (!m) return;
    let id;
    try {
      id = decodeURIComponent(m[1]);
    } catch (e) {
      return;
    }
    const at = trail.indexOf(id);
    if (at >= 0) trail = trail.slice(0, at + 1);
    else trail.push(id);
    showItem(id, true);
  }

  // Side information columns shown as an item's title; the others are shown as tags.
  const TITLE_COLUMNS = ['title', 'name', 'product_title'];

  function titleOf(side) {
    const k = TITLE_COLUMNS.find((c) => side && side[c]);
    return k ? side[k] : '';
  }

  // An item's attributes as filters see them (typed, with values set at run time), else
  // the items file's text.
  function sideTags(info) {
    const out = [];
    if (!info) return out;
    for (const [k, v] of Object.entries(info.attributes || info.side || {})) {
      if (TITLE_COLUMNS.includes(k) || k === 'degree') continue;
      // a list as the file wrote it, unless a value set at run time replaced it
      const text = info.side && info.side[k];
      const same = Array.isArray(v) && text &&
        text.split(text.includes(' > ') ? ' > ' : '|').map((x) => x.trim()).join('\n') === v.join('\n');
      out.push([k, Array.isArray(v) ? (same ? text : v.join(', '))
        : typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v)]);
    }
    if (isNum(info.degree)) out.push(['degree', int(info.degree)]);
    return out;
  }

  function tagList(pairs) {
    const dl = el('dl', { class: 'tags' });
    for (const [k, v] of pairs) {
      dl.append(el('div', {}, el('dt', { text: k }), el('dd', { text: v })));
    }
    return dl;
  }

  function renderTrail() {
    const nav = $('trail');
    nav.replaceChildren();
    if (trail.length < 2) return;
    trail.forEach((id, i) => {
      if (i) nav.append(el('span', { class: 'sep', text: '→' }));
      if (i === trail.length - 1) nav.append(el('span', { class: 'here', text: id }));
      else {
        const b = el('button', { type: 'button', class: 'link', text: id });
        b.addEventListener('click', () => go(id));
        nav.append(b);
      }
    });
  }

  // The evidence for a neighbour (explain=1), in sentences: the direct pair, the shared
  // partners, a walk's steps, the agreeing columns, the probability's parts.
  function whyLines(a, b, e) {
    if (!e) return ['No explanation.'];
    const pct = (x) => `${(100 * x).toPrecision(2)}%`, sign = (x) => (x >= 0 ? '+' : '') + x.toFixed(2);
    const out = [];
    if (e.provisional) out.push('Known from pairs ingested since the model was trained.');
    if (!e.graph && !e.provisional) out.push('This model has no pair graph beside it: no pair evidence.');
    if (e.graph) {
      out.push(e.pair ? `Paired directly, weight ${e.pair.weight}.` : 'Never paired directly.');
      const top = e.shared.top.map((t) => `${t.item} (${t.weight_a} / ${t.weight_b})`).join(', ');
      out.push(`${int(e.shared.count)} shared partners (${a} has ${int(e.partners.a)}, ${b} ` +
        `${int(e.partners.b)})${top ? ': ' + top : ''}.`);
    }
    if (e.walk) {
      out.push(`A walk at ${a} is at ${b} after one step ${pct(e.walk.one_step)}, after two ` +
        `${pct(e.walk.two_steps)}; the other way ${pct(e.walk.one_step_back)}, ` +
        `${pct(e.walk.two_steps_back)}.`);
    }
    if (e.attributes) {
      const same = Object.entries(e.attributes).map(([k, v]) => `${k} ${v}`).join('; ');
      out.push(same ? `Same ${same}.` : 'No side-information value in common.');
    }
    if (e.logit) {
      const l = e.logit;
      out.push(`Probability logit ${l.total.toFixed(2)} = cosine ${sign(l.cosine)}, popularity ` +
        `${sign(l.popularity)}, hub ${sign(l.hub)}, constant ${sign(l.constant)}.`);
    }
    return out;
  }

  async function showItem(id, scroll) {
    const seq = ++showSeq, k = $('k').value;
    current = id;
    const table = $('neighbors');
    table.dataset.state = 'loading';
    $('search-msg').textContent = `Loading ${id}…`;
    let info, nb;
    try {
      [info, nb] = await Promise.all([api(`/v1/items/${enc(id)}`),
        api(`/v1/items/${enc(id)}/neighbors?k=${k}&explain=1`)]);
    } catch (e) {
      if (seq !== showSeq) return;
      $('search-msg').textContent = e.code === 'unknown_item'
        ? `The model has no item ${id}.` : `Cannot load ${id}: ${e.message}`;
      $('item').hidden = true;
      table.hidden = true;
      table.dataset.state = 'error';
      return;
    }
    // Side information of every neighbour (titles where the model has them).
    const sides = await Promise.all(nb.neighbors.map((n) =>
      api(`/v1/items/${enc(n.item)}`).catch(() => null)));
    if (seq !== showSeq) return;
    $('search-msg').textContent =
      `${nb.neighbors.length} nearest items of generation ${nb.generation}, ranked by ` +
      `${nb.rank}; click one to walk on.`;
    $('item').hidden = false;
    $('item-id').textContent = id;
    $('item-title').textContent = titleOf(info.side);
    $('item-side').replaceWith(Object.assign(tagList(sideTags(info)), { id: 'item-side' }));
    // hiding: a write, so not on a follower (PUT / DELETE /v1/items/{id}/hidden)
    $('item-hidden').hidden = !info.hidden;
    const hide = $('item-hide');
    hide.hidden = !!status && status.role === 'follower';
    hide.textContent = info.hidden ? 'Unhide' : 'Hide from every list';
    hide.onclick = async () => {
      try {
        await api(`/v1/items/${enc(id)}/hidden`, info.hidden ? 'DELETE' : 'PUT');
      } catch (e) {
        $('search-msg').textContent = `Cannot change ${id}: ${e.message}`;
        return;
      }
      showItem(id, false);
    };
    renderTrail();
    const tb = table.tBodies[0];
    tb.replaceChildren();
    nb.neighbors.forEach((n, i) => {
      const walk = el('button', { type: 'button', class: 'link walk', text: n.item });
      // the bar shows the score the list is ranked by
      const ranked = nb.rank === 'probability' && n.probability != null ? n.probability : n.score;
      const bar = el('div', { class: 'scorebar' }, el('div', {}));
      bar.firstChild.style.width = `${(Math.max(0, ranked) * 100).toFixed(1)}%`;
      const tr = el('tr', { 'data-id': n.item },
        el('td', { class: 'num rank', text: i + 1 }),
        el('td', {}, walk),
        el('td', { class: 'title', text: titleOf(sides[i] && sides[i].side) || '–' }),
        el('td', {}, tagList(sideTags(sides[i]))),
        el('td', { class: 'prob num', text: n.probability != null ? fmt(n.probability) : '–' }),
        el('td', { class: 'score' }, el('div', { class: 'scorecell' },
          el('span', { class: 'num', text: fmt(n.score) }), bar)));
      // an expandable row below with the evidence (explain=1)
      const more = el('button', { type: 'button', class: 'link why', text: 'why ▸' });
      const detail = el('tr', { class: 'why-row', hidden: '' },
        el('td', { colspan: 7 }, el('ul', { class: 'why' },
          ...whyLines(id, n.item, n.explain).map((t) => el('li', { text: t })))));
      more.addEventListener('click', (ev) => {
        ev.stopPropagation();
        detail.hidden = !detail.hidden;
        more.textContent = detail.hidden ? 'why ▸' : 'why ▾';
      });
      tr.append(el('td', {}, more));
      tr.addEventListener('click', () => go(n.item));
      tb.append(tr, detail);
    });
    // a catalogue without titles gets no column of dashes
    table.classList.toggle('no-titles', !sides.some((x) => x && titleOf(x.side)));
    table.classList.toggle('no-prob', !nb.neighbors.some((n) => n.probability != null));
    table.hidden = false;
    table.dataset.state = 'ready';
    table.dataset.item = id;
    if (scroll) $('explore').scrollIntoView({ block: 'nearest' });
  }

  // ---- wiring ----

  function init() {
    let timer = 0;
    const search = $('search');
    search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(suggest, 120);
    });
    search.addEventListener('keydown', (ev) => {
      const open = !$('suggestions').hidden, items = suggestionItems();
      if (ev.key === 'ArrowDown' && open) highlight(active + 1);
      else if (ev.key === 'ArrowUp' && open) highlight(active - 1);
      else if (ev.key === 'Escape') closeSuggestions();
      else if (ev.key === 'Enter') {
        const li = open && active >= 0 ? items[active] : null;
        const id = li && li.dataset.id ? li.dataset.id : search.value.trim();
        if (id) pick(id);
      } else return;
      ev.preventDefault();
    });
    search.addEventListener('blur', () => setTimeout(closeSuggestions, 100));
    $('k').addEventListener('change', () => current && showItem(current, false));
    $('forget-token').hidden = !sessionStorage.getItem(TOKEN_KEY);
    $('forget-token').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      $('forget-token').hidden = true;
      pollStatus();
    });
    window.addEventListener('hashchange', fromHash);
    loadModel().then(() => pollStatus());
    fromHash();
  }

  init();
})();
