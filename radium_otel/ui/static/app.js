/* radium ui: the pages of `rad ui` and `rad report --html`.
 *
 * Every number shown comes from the server's JSON (the report functions of `rad stats ...
 * --json`); this file only formats, sorts and draws it. In a report file the same JSON is
 * embedded in <script id="radium-data" type="application/json"> and nothing is fetched.
 * Charts: uPlot (vendor/uplot, MIT).
 */
(function () {
  "use strict";

  // --- formatting (as radium_otel/_internal/render.py) ---------------------------------------
  function roundHalfEven(x) {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }
  function fmtCount(n) {
    return n == null ? "n/a" : Number(n).toLocaleString("en-US");
  }
  function fmtUsd(v, partial) {
    if (v == null) return "n/a";
    let text = String(Math.abs(v));
    let cents;
    if (/e/i.test(text)) {
      cents = (Math.round(Math.abs(v) * 100) / 100).toFixed(2);
    } else {
      const [whole, frac = ""] = text.split(".");
      const f = (frac + "000").slice(0, 3);
      let c = BigInt(whole) * 100n + BigInt(f.slice(0, 2));
      if (Number(f[2]) >= 5) c += 1n;
      const w = c / 100n;
      const r = c % 100n;
      cents = w.toString() + "." + r.toString().padStart(2, "0");
    }
    const [w, r] = cents.split(".");
    const shown = "$" + Number(w).toLocaleString("en-US") + "." + r;
    return (partial ? "≥ " : "") + (v < 0 ? "-" : "") + shown;
  }
  function fmtDuration(s) {
    if (s == null) return "n/a";
    const millis = roundHalfEven(s * 1000);
    if (millis < 1000) return millis + "ms";
    const tenths = roundHalfEven(s * 10);
    if (tenths < 600) return (tenths / 10).toFixed(1) + "s";
    const total = roundHalfEven(s);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const sec = total % 60;
    return h ? `${h}h ${m}m ${sec}s` : `${m}m ${sec}s`;
  }
  function fmtRate(r) {
    return r == null ? "n/a" : (100 * r).toFixed(1) + "%";
  }
  function fmtTime(iso) {
    if (!iso) return "—";
    return iso.slice(0, 10) + " " + iso.slice(11, 16);
  }
  function fmtChanges(a, r) {
    return a == null ? "n/a" : `+${fmtCount(a)} −${fmtCount(r || 0)}`;
  }

  // --- DOM helpers ------------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "value" && (tag === "input" || tag === "select")) el.value = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c == null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  /** A table cell showing `text` and carrying the raw JSON value for tests and copy. */
  function num(text, value, cls) {
    return h("td", {
      class: "num" + (cls ? " " + cls : ""),
      "data-value": value === undefined ? null : JSON.stringify(value),
    }, text);
  }
  function dataValue(value) {
    return JSON.stringify(value);
  }

  // --- data ------------------------------------------------------------------------------
  const dataEl = document.getElementById("radium-data");
  const REPORT = dataEl ? JSON.parse(dataEl.textContent) : null;

  async function api(path, params) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v != null && v !== "") qs.set(k, v);
    const url = "/api/" + path + (qs.toString() ? "?" + qs : "");
    const res = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await res.json().catch(() => ({ error: res.statusText }));
    if (!res.ok) throw new Error(body.error || res.statusText);
    return body;
  }

  // --- routing ---------------------------------------------------------------------------
  function parseHash() {
    const raw = location.hash.replace(/^#/, "") || "/overview";
    const [path, query = ""] = raw.split("?");
    const parts = path.split("/").filter(Boolean);
    return { view: parts[0] || "overview", arg: parts[1] ? decodeURIComponent(parts[1]) : null,
             params: Object.fromEntries(new URLSearchParams(query)) };
  }
  function go(view, params, arg) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v != null && v !== "") qs.set(k, v);
    const hash = "#/" + view + (arg ? "/" + encodeURIComponent(arg) : "") + (qs.toString() ? "?" + qs : "");
    if (location.hash !== hash) location.hash = hash;
    else render();
  }

  let main = null; // <main>, found when the page has loaded (the report's script runs in <head>)
  let renderToken = 0;
  let charts = [];

  async function render(opts) {
    const quiet = opts && opts.quiet;
    const token = ++renderToken;
    const route = parseHash();
    for (const a of document.querySelectorAll("[data-nav]")) {
      const current = a.dataset.nav === route.view || (route.view === "session" && a.dataset.nav === "sessions");
      if (current) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    const view = VIEWS[route.view] || VIEWS.notfound;
    if (!quiet) main.setAttribute("aria-busy", "true");
    let content;
    try {
      content = await view(route);
    } catch (err) {
      content = errorBox(err.message || String(err));
    }
    if (token !== renderToken) return;
    const scroll = window.scrollY;
    for (const c of charts) c.destroy();
    charts = [];
    main.replaceChildren(content);
    main.setAttribute("aria-busy", "false");
    for (const fn of pendingCharts.splice(0)) fn();
    if (quiet) window.scrollTo(0, scroll);
    else if (!opts || !(opts.keepFocus || opts.initial)) main.focus({ preventScroll: true });
    document.title = "radium · " + (TITLES[route.view] || "sessions");
  }
  const TITLES = { overview: "overview", sessions: "sessions", session: "session", tools: "tools", models: "models" };

  function errorBox(message) {
    return h("div", { class: "error", role: "alert" }, h("strong", {}, "Cannot show this page: "), message);
  }

  // --- charts (uPlot) ---------------------------------------------------------------------
  const PALETTE = ["#0f766e", "#2563eb", "#d97706", "#7c3aed", "#db2777", "#65a30d", "#0891b2", "#dc2626", "#6b7280"];
  const pendingCharts = [];

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  /** A figure holding one uPlot chart, drawn once the figure is in the page. */
  function chart(title, description, build) {
    const box = h("div", { class: "chart", role: "img", "aria-label": title + ". " + description });
    const fig = h("figure", { class: "card" }, h("figcaption", {}, h("h3", {}, title), h("p", { class: "muted" }, description)), box);
    pendingCharts.push(() => {
      if (typeof uPlot === "undefined") {
        box.replaceChildren(h("p", { class: "muted" }, "Charts need uPlot (not loaded)."));
        return;
      }
      const width = Math.max(280, box.clientWidth || 600);
      const { opts, data } = build(width);
      const axis = { stroke: cssVar("--muted"), grid: { stroke: cssVar("--grid"), width: 1 }, ticks: { stroke: cssVar("--grid") } };
      opts.series[0].label = opts.series[0].label || " ";
      opts.width = width;
      opts.height = opts.height || 240;
      opts.axes = (opts.axes || [{}, {}]).map((a) => Object.assign({}, axis, a));
      opts.cursor = Object.assign({ drag: { x: false, y: false } }, opts.cursor || {});
      const u = new uPlot(opts, data, box);
      charts.push(u);
    });
    return fig;
  }

  /** An x axis of categories (periods, tools, models): one slot each, as many names as fit. */
  function ordinalX(labels) {
    const longest = Math.max(4, ...labels.map((l) => String(l).length));
    return {
      scale: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] },
      axis: {
        splits: (u) => {
          const room = Math.max(1, Math.floor(u.bbox.width / (window.devicePixelRatio || 1) / (longest * 7 + 14)));
          const step = Math.ceil(labels.length / room);
          const last = labels.length - 1;
          return labels.map((_, i) => i).filter((i) => (last - i) % step === 0);
        },
        values: (u, splits) => splits.map((i) => labels[i] || ""),
      },
    };
  }

  function bars(ratio) {
    return uPlot.paths.bars({ size: [ratio || 0.7, 64], align: 0 });
  }

  /** Stacked bars: each series drawn at its running total; the legend shows its own value. */
  function stacked(labels, series, fmt, height) {
    const x = labels.map((_, i) => i);
    const cum = [];
    let running = labels.map(() => 0);
    for (const s of series) {
      running = running.map((v, i) => v + (s.values[i] || 0));
      cum.push(running.slice());
    }
    const ordered = series.map((s, i) => ({ s, i })).reverse();
    const ox = ordinalX(labels);
    return {
      opts: {
        height: height || 260,
        scales: { x: ox.scale, y: { range: (u, min, max) => [0, max > 0 ? max * 1.08 : 1] } },
        axes: [ox.axis, { values: (u, v) => v.map(fmt), size: 70 }],
        series: [{ value: (u, v) => (v == null ? "" : labels[v]) }].concat(ordered.map(({ s, i }) => ({
          label: s.label,
          fill: PALETTE[i % PALETTE.length],
          stroke: PALETTE[i % PALETTE.length],
          width: 0,
          paths: bars(0.7),
          points: { show: false },
          value: (u, v, si, idx) => (idx == null ? "" : s.values[idx] == null ? "n/a" : fmt(s.values[idx])),
        }))),
      },
      data: [x].concat(ordered.map(({ i }) => cum[i])),
    };
  }

  // --- overview --------------------------------------------------------------------------
  const RANGES = [["7d", "7 days"], ["30d", "30 days"], ["90d", "90 days"], ["365d", "1 year"], ["", "All time"]];

  async function viewOverview(route) {
    const p = route.params;
    const data = REPORT ? REPORT.overview : await api("overview", { since: p.since, until: p.until, by: p.by });
    const wrap = h("div", { class: "page" });
    wrap.append(h("div", { class: "page-head" }, h("h1", {}, "Overview"), windowNote(data)));
    if (!REPORT) wrap.append(rangeControls(p, "overview", true));
    if (!data.sessions) {
      wrap.append(h("p", { class: "empty" }, "No sessions in this window."));
      return wrap;
    }
    const mt = data.model_total, tt = data.tool_total, d = data.decisions;
    wrap.append(h("section", { class: "kpis", "aria-label": "Totals" },
      kpi("Sessions", fmtCount(data.sessions), "sessions", data.sessions),
      kpi("Cost", fmtUsd(mt.cost_usd, mt.cost_partial), "cost", mt.cost_usd, mt.cost_partial ? "some models unpriced" : null),
      kpi("Model requests", fmtCount(mt.requests), "requests", mt.requests, mt.errors ? `${fmtCount(mt.errors)} failed` : null),
      kpi("Tokens", fmtCount(mt.input_tokens + mt.output_tokens), "tokens", mt.input_tokens + mt.output_tokens,
        `${fmtCount(mt.input_tokens)} in · ${fmtCount(mt.output_tokens)} out`),
      kpi("Cache hit rate", fmtRate(data.cache.hit_rate), "cache_hit_rate", data.cache.hit_rate,
        data.cache.savings_usd != null ? `saved ${fmtUsd(data.cache.savings_usd)}` : null),
      kpi("Tool success", fmtRate(tt.success_rate), "tool_success_rate", tt.success_rate,
        `${fmtCount(tt.calls)} calls · ${fmtCount(tt.failures)} failed`),
      kpi("User agreement", fmtRate(d.agreement_rate), "agreement_rate", d.agreement_rate, `${fmtCount(d.reviewed)} reviewed`),
      kpi("API vs tool time", fmtRate(data.time.api_share), "api_share", data.time.api_share,
        `${fmtDuration(data.time.api_time_s)} API · ${fmtDuration(data.time.tool_time_s)} tools`),
    ));
    const periods = data.periods;
    const labels = periods.map((q) => q.period);
    const per = { day: "day", week: "week", month: "month" }[data.by];
    const models = data.top_models.map((m, i) => ({
      label: m.model, values: periods.map((q) => q.model_costs[i]),
    }));
    if (periods.some((q) => q.other_cost_usd != null)) models.push({ label: "other models", values: periods.map((q) => q.other_cost_usd) });
    const grid = h("div", { class: "grid" });
    grid.append(chart(`Cost per ${per}, by model`, `Stacked cost of each ${per} with sessions, per model (rad stats model for the ${per}).`,
      () => stacked(labels, models.length ? models : [{ label: "cost", values: periods.map((q) => q.cost_usd) }], (v) => fmtUsd(v))));
    grid.append(chart(`Sessions and requests per ${per}`, `Sessions started and model requests made in each ${per}.`, () => {
      const ox = ordinalX(labels);
      return {
        opts: {
          scales: { x: ox.scale, s: { range: (u, a, b) => [0, Math.max(1, b) * 1.1] }, r: { range: (u, a, b) => [0, Math.max(1, b) * 1.1] } },
          axes: [ox.axis, { scale: "s", values: (u, v) => v.map(fmtCount), size: 60 }, { scale: "r", side: 1, values: (u, v) => v.map(fmtCount), size: 70, grid: { show: false } }],
          series: [{ value: (u, v) => (v == null ? "" : labels[v]) },
            { label: "sessions", scale: "s", fill: PALETTE[0], stroke: PALETTE[0], width: 0, paths: bars(0.6), points: { show: false }, value: (u, v) => (v == null ? "–" : fmtCount(v)) },
            { label: "requests", scale: "r", stroke: PALETTE[2], width: 2, points: { show: true, size: 5 }, value: (u, v) => (v == null ? "–" : fmtCount(v)) }],
        },
        data: [labels.map((_, i) => i), periods.map((q) => q.sessions), periods.map((q) => q.requests)],
      };
    }));
    grid.append(chart("Cache hit rate and savings", `Share of input tokens read from the prompt cache, and what that saved, per ${per}.`, () => {
      const ox = ordinalX(labels);
      return {
        opts: {
          scales: { x: ox.scale, pct: { range: [0, 100] }, usd: { range: (u, a, b) => [0, b > 0 ? b * 1.1 : 1] } },
          axes: [ox.axis, { scale: "pct", values: (u, v) => v.map((x) => x + "%"), size: 50 },
            { scale: "usd", side: 1, values: (u, v) => v.map((x) => fmtUsd(x)), size: 70, grid: { show: false } }],
          series: [{ value: (u, v) => (v == null ? "" : labels[v]) },
            { label: "savings", scale: "usd", fill: PALETTE[5] + "99", stroke: PALETTE[5], width: 0, paths: bars(0.6), points: { show: false },
              value: (u, v, si, i) => (i == null ? "" : fmtUsd(periods[i].cache_savings_usd)) },
            { label: "hit rate", scale: "pct", stroke: PALETTE[1], width: 2, points: { show: true, size: 5 },
              value: (u, v, si, i) => (i == null ? "" : fmtRate(periods[i].hit_rate)) }],
        },
        data: [labels.map((_, i) => i), periods.map((q) => q.cache_savings_usd), periods.map((q) => (q.hit_rate == null ? null : 100 * q.hit_rate))],
      };
    }));
    grid.append(chart("Tool success rate", `Successful tool calls out of the calls executed in each ${per}.`, () => {
      const ox = ordinalX(labels);
      return {
        opts: {
          scales: { x: ox.scale, pct: { range: [0, 100] }, n: { range: (u, a, b) => [0, Math.max(1, b) * 1.1] } },
          axes: [ox.axis, { scale: "pct", values: (u, v) => v.map((x) => x + "%"), size: 50 },
            { scale: "n", side: 1, values: (u, v) => v.map(fmtCount), size: 60, grid: { show: false } }],
          series: [{ value: (u, v) => (v == null ? "" : labels[v]) },
            { label: "tool calls", scale: "n", fill: cssVar("--grid"), stroke: cssVar("--muted"), width: 0, paths: bars(0.6), points: { show: false }, value: (u, v) => (v == null ? "–" : fmtCount(v)) },
            { label: "success rate", scale: "pct", stroke: PALETTE[0], width: 2, points: { show: true, size: 5 },
              value: (u, v, si, i) => (i == null ? "" : fmtRate(periods[i].success_rate)) }],
        },
        data: [labels.map((_, i) => i), periods.map((q) => q.tool_calls), periods.map((q) => (q.success_rate == null ? null : 100 * q.success_rate))],
      };
    }));
    grid.append(chart("API vs tool time", `Where agent-active time went in each ${per}: waiting for models, or running tools.`,
      () => stacked(labels, [
        { label: "API", values: periods.map((q) => q.api_time_s) },
        { label: "tools", values: periods.map((q) => q.tool_time_s) },
      ], (v) => fmtDuration(v))));
    wrap.append(grid);
    wrap.append(periodTable(data));
    return wrap;
  }

  function kpi(label, value, key, raw, note) {
    return h("div", { class: "kpi", "data-kpi": key, "data-value": dataValue(raw) },
      h("span", { class: "kpi-label" }, label), h("strong", { class: "kpi-value" }, value),
      note ? h("span", { class: "kpi-note" }, note) : null);
  }

  function windowNote(data) {
    if (!data.since && !data.until) return h("p", { class: "muted" }, "All sessions" + (REPORT ? ` · report made ${fmtTime(REPORT.generated_at)} UTC` : ""));
    const a = data.since ? fmtTime(data.since) : "the first session";
    const b = data.until ? fmtTime(data.until) : "now";
    return h("p", { class: "muted" }, `Sessions started from ${a} to ${b} (UTC)` + (REPORT ? ` · report made ${fmtTime(REPORT.generated_at)} UTC` : ""));
  }

  function rangeControls(p, view, withBy) {
    const form = h("form", { class: "controls", "aria-label": "Time window", onsubmit: (e) => {
      e.preventDefault();
      const f = new FormData(form);
      go(view, Object.assign({}, p, { since: f.get("since"), until: f.get("until"), by: f.get("by") }));
    } });
    const group = h("div", { class: "segmented", role: "group", "aria-label": "Quick ranges" });
    for (const [since, label] of RANGES) {
      const active = (p.since || "") === since && !p.until;
      group.append(h("button", { type: "button", "aria-pressed": active ? "true" : "false",
        onclick: () => go(view, Object.assign({}, p, { since, until: "" })) }, label));
    }
    form.append(group,
      h("label", {}, "From ", h("input", { type: "date", name: "since", value: /^\d{4}-\d\d-\d\d$/.test(p.since || "") ? p.since : "" })),
      h("label", {}, "To ", h("input", { type: "date", name: "until", value: p.until || "" })));
    if (withBy) {
      const sel = h("select", { name: "by" });
      for (const b of ["auto", "day", "week", "month"]) sel.append(h("option", { value: b, selected: (p.by || "auto") === b }, b === "auto" ? "Auto" : "Per " + b));
      form.append(h("label", {}, "Group ", sel));
    }
    form.append(h("button", { type: "submit", class: "primary" }, "Apply"));
    return form;
  }

  function periodTable(data) {
    const head = ["Period", "Sessions", "Requests", "Tool calls", "Success", "Tokens", "Cost", "Cache hit", "Savings", "API share"];
    const t = h("table", { class: "data", id: "periods" },
      h("caption", {}, `Per ${data.by}: the rows of rad stats history --by ${data.by} --json`),
      h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))));
    const body = h("tbody");
    for (const q of data.periods.slice().reverse()) {
      body.append(h("tr", { "data-period": q.period },
        h("th", { scope: "row" }, q.period),
        num(fmtCount(q.sessions), q.sessions), num(fmtCount(q.requests), q.requests),
        num(fmtCount(q.tool_calls), q.tool_calls), num(fmtRate(q.success_rate), q.success_rate),
        num(fmtCount(q.tokens), q.tokens), num(fmtUsd(q.cost_usd, q.cost_partial), q.cost_usd),
        num(fmtRate(q.hit_rate), q.hit_rate), num(fmtUsd(q.cache_savings_usd), q.cache_savings_usd),
        num(fmtRate(q.api_share), q.api_share)));
    }
    t.append(body);
    return h("details", { class: "card table-card" }, h("summary", {}, "Numbers per " + data.by), h("div", { class: "scroll" }, t));
  }

  // --- sessions --------------------------------------------------------------------------
  const COLUMNS = [
    ["start", "Started", false], [null, "Session", false], ["agent", "Agent", false], ["source", "Source", false],
    ["status", "Status", false], [null, "Models", false], ["wall", "Wall time", true], ["tool_calls", "Tool calls", true],
    ["success", "Success", true], ["tokens", "Tokens", true], ["cost", "Cost", true], [null, "Lines", true],
  ];
  const FILTERS = ["since", "until", "agent", "source", "status", "model", "tag"];

  async function viewSessions(route) {
    const p = Object.assign({ sort: "start", order: "desc", page: "1", per_page: "50" }, route.params);
    let options, data;
    if (REPORT) {
      options = REPORT.options;
      data = localSessions(REPORT.sessions, p);
    } else {
      [options, data] = await Promise.all([api("options"), api("sessions", p)]);
    }
    const wrap = h("div", { class: "page" });
    wrap.append(h("div", { class: "page-head" }, h("h1", {}, "Sessions"),
      h("p", { class: "muted", id: "session-count", "data-value": dataValue(data.total_sessions) },
        `${fmtCount(data.total_sessions)} session${data.total_sessions === 1 ? "" : "s"}` +
        (REPORT && REPORT.sessions_truncated ? ` (this report holds the newest ${fmtCount(REPORT.sessions.length)})` : ""))));
    wrap.append(filterForm(p, options));
    if (!data.sessions.length) {
      wrap.append(h("p", { class: "empty" }, "No sessions match these filters."));
      return wrap;
    }
    const table = h("table", { class: "data sessions", id: "sessions" },
      h("caption", { class: "sr-only" }, "Sessions, sortable by the column buttons"));
    const tr = h("tr");
    for (const [key, label, numeric] of COLUMNS) {
      const sorted = key && p.sort === key;
      const th = h("th", { scope: "col", class: numeric ? "num" : null, "aria-sort": sorted ? (p.order === "asc" ? "ascending" : "descending") : null });
      if (key) {
        th.append(h("button", { type: "button", class: "sort", "data-sort": key,
          onclick: () => go("sessions", Object.assign({}, p, { sort: key, order: sorted && p.order === "desc" ? "asc" : "desc", page: "1" })) },
          label, h("span", { class: "arrow", "aria-hidden": "true" }, sorted ? (p.order === "asc" ? " ▲" : " ▼") : "")));
      } else th.append(label);
      tr.append(th);
    }
    table.append(h("thead", {}, tr));
    const body = h("tbody");
    for (const s of data.sessions) {
      body.append(h("tr", { "data-id": s.id, class: s.tool_failures ? "has-failures" : null },
        h("td", { class: "nowrap", "data-value": dataValue(s.start_time) }, fmtTime(s.start_time)),
        h("td", {}, h("a", { href: "#/session/" + encodeURIComponent(s.id), class: "mono", title: s.id }, s.short_id || s.id.slice(0, 8))),
        h("td", {}, s.agent || "—"),
        h("td", {}, s.source ? h("span", { class: "pill src-" + s.source.replace(/[^a-z0-9-]/gi, "") }, s.source) : "—"),
        h("td", {}, statusBadge(s.status)),
        h("td", { class: "models" }, s.models.join(", ") || "—"),
        num(fmtDuration(s.wall_time_s), s.wall_time_s), num(fmtCount(s.tool_calls), s.tool_calls),
        num(fmtRate(s.success_rate), s.success_rate, s.tool_failures ? "bad" : null),
        num(fmtCount(s.tokens), s.tokens), num(fmtUsd(s.cost_usd, s.cost_partial), s.cost_usd),
        num(fmtChanges(s.lines_added, s.lines_removed), s.lines_added)));
    }
    table.append(body);
    wrap.append(h("div", { class: "card scroll" }, table));
    wrap.append(pager(p, data));
    return wrap;
  }

  function statusBadge(status) {
    return h("span", { class: "badge st-" + status }, status);
  }

  function filterForm(p, options) {
    const form = h("form", { class: "controls filters", role: "search", "aria-label": "Filter sessions", onsubmit: (e) => {
      e.preventDefault();
      const f = new FormData(form);
      const next = { sort: p.sort, order: p.order, per_page: f.get("per_page"), page: "1" };
      for (const k of FILTERS) next[k] = f.get(k);
      go("sessions", next);
    } });
    const select = (name, label, values, fmt) => {
      const sel = h("select", { name, id: "f-" + name, onchange: () => form.requestSubmit() },
        h("option", { value: "" }, "All"));
      for (const v of values) sel.append(h("option", { value: v, selected: p[name] === v }, fmt ? fmt(v) : v));
      return h("label", { for: "f-" + name }, label + " ", sel);
    };
    const date = (name, label) => h("label", { for: "f-" + name }, label + " ",
      h("input", { type: "date", name, id: "f-" + name, value: p[name] || "", onchange: () => form.requestSubmit() }));
    form.append(
      date("since", "From"), date("until", "To"),
      select("agent", "Agent", options.agents), select("source", "Source", options.sources),
      select("status", "Status", options.statuses), select("model", "Model", options.models),
      select("tag", "Tag", options.tags),
      select("per_page", "Per page", options.page_sizes.map(String)),
      h("button", { type: "submit", class: "primary" }, "Apply"),
      h("button", { type: "button", onclick: () => go("sessions", { sort: p.sort, order: p.order }) }, "Clear"));
    const pp = form.querySelector("#f-per_page");
    pp.firstChild.remove();
    pp.value = p.per_page || "50";
    return form;
  }

  function pager(p, data) {
    const page = Number(data.page);
    const nav = h("nav", { class: "pager", "aria-label": "Pages" });
    nav.append(
      h("button", { type: "button", disabled: page <= 1, onclick: () => go("sessions", Object.assign({}, p, { page: String(page - 1) })) }, "← Newer page"),
      h("span", { "aria-live": "polite" }, `Page ${fmtCount(page)} of ${fmtCount(data.pages)}`),
      h("button", { type: "button", disabled: page >= data.pages, onclick: () => go("sessions", Object.assign({}, p, { page: String(page + 1) })) }, "Next page →"));
    return nav;
  }

  /** The report file's session list: its embedded rows filtered, sorted and paged here. */
  function localSessions(rows, p) {
    const since = p.since ? p.since + "T00:00:00" : null;
    const until = p.until ? p.until + "T99" : null;
    let out = rows.filter((s) =>
      (!since || s.start_time >= since) && (!until || s.start_time.slice(0, 10) + "T" <= until) &&
      (!p.agent || s.agent === p.agent) && (!p.source || s.source === p.source) &&
      (!p.status || s.status === p.status) && (!p.model || s.models.includes(p.model)) &&
      (!p.tag || (() => { const [k, ...v] = p.tag.split("="); return k in s.tags && (!v.length || s.tags[k] === v.join("=")); })()));
    const keyOf = {
      start: (s) => s.start_time, cost: (s) => s.cost_usd, wall: (s) => s.wall_time_s, tool_calls: (s) => s.tool_calls,
      success: (s) => s.success_rate, tokens: (s) => s.tokens, agent: (s) => s.agent, source: (s) => s.source, status: (s) => s.status,
    }[p.sort] || ((s) => s.start_time);
    const dir = p.order === "asc" ? 1 : -1;
    out = out.slice().sort((a, b) => {
      const x = keyOf(a), y = keyOf(b);
      if (x == null || y == null) return x == null && y == null ? 0 : x == null ? 1 : -1;
      return (x < y ? -1 : x > y ? 1 : 0) * dir || (a.start_time < b.start_time ? 1 : -1) * dir;
    });
    const per = Number(p.per_page) || 50;
    const pages = Math.max(1, Math.ceil(out.length / per));
    const page = Math.min(Math.max(1, Number(p.page) || 1), pages);
    return { total_sessions: out.length, page, pages, sessions: out.slice((page - 1) * per, page * per) };
  }

  // --- one session -----------------------------------------------------------------------
  async function viewSession(route) {
    let data;
    if (REPORT) {
      data = REPORT.details[route.arg];
      if (!data) {
        return h("div", { class: "page" }, h("h1", {}, "Session"), h("p", { class: "empty" },
          "This report does not include the details of this session; run ", h("code", {}, `rad stats session ${route.arg}`), "."));
      }
    } else {
      data = await api("session/" + encodeURIComponent(route.arg));
    }
    const r = data.record;
    const meta = r.metadata || {};
    const wrap = h("div", { class: "page session", "data-session": r.id });
    wrap.append(h("div", { class: "page-head" },
      h("p", {}, h("a", { href: "#/sessions" }, "← Sessions")),
      h("h1", {}, "Session ", h("span", { class: "mono" }, r.id)),
      h("p", { class: "meta" }, statusBadge(r.status), " ", meta.agent ? `agent ${meta.agent} · ` : "",
        meta.source ? `source ${meta.source} · ` : "", `started ${fmtTime(r.start_time)} UTC`,
        r.end_time ? ` · ended ${fmtTime(r.end_time)} UTC` : "")));
    const mt = data.models.total;
    const tt = data.tools.total;
    wrap.append(h("section", { class: "kpis", "aria-label": "Session totals" },
      kpi("Cost", fmtUsd(r.cost_usd, mt.cost_partial), "cost", r.cost_usd,
        r.reported_cost_usd != null ? `${fmtUsd(r.reported_cost_usd)} reported by ${meta.source || "the agent"}` : null),
      kpi("Wall time", fmtDuration(r.wall_time_s), "wall_time_s", r.wall_time_s, `${fmtDuration(r.agent_active_time_s)} agent active`),
      kpi("Tool calls", fmtCount(r.tool_calls), "tool_calls", r.tool_calls, `✓ ${fmtCount(r.tool_successes)} ✗ ${fmtCount(r.tool_failures)}`),
      kpi("Success rate", fmtRate(tt.success_rate), "success_rate", tt.success_rate),
      kpi("Model requests", fmtCount(mt.requests), "requests", mt.requests, mt.errors ? `${fmtCount(mt.errors)} failed` : null),
      kpi("Cache hit rate", r.model_usage.length ? fmtRate(r.cache_stats.hit_rate) : "n/a", "cache_hit_rate", r.cache_stats.hit_rate,
        r.cache_stats.savings_usd != null ? `saved ${fmtUsd(r.cache_stats.savings_usd)}` : null),
      kpi("Code changes", r.code_changes ? fmtChanges(r.code_changes.lines_added, r.code_changes.lines_removed) : "n/a", "lines_added",
        r.code_changes ? r.code_changes.lines_added : null,
        r.code_changes && r.code_changes.files_changed != null ? `${fmtCount(r.code_changes.files_changed)} files` : null)));
    wrap.append(timeSplit(data.time));
    const cols = h("div", { class: "grid two" });
    cols.append(h("section", { class: "card", "aria-labelledby": "summary-h" },
      h("h2", { id: "summary-h" }, "Summary"),
      h("pre", { class: "summary", tabindex: "0", "aria-label": "Session summary as rad stats session prints it" }, data.summary)));
    cols.append(decisionsCard(r));
    wrap.append(cols);
    wrap.append(modelTable(data.models, "Models in this session", "session-models"));
    wrap.append(toolTable(data.tools, "Tools in this session", "session-tools"));
    wrap.append(filesCard(r));
    wrap.append(h("section", { class: "card" }, h("h2", {}, "Timeline"),
      h("p", { class: "muted" }, "radium stores each model's and each tool's totals, not when every call ran, so the session is shown as its time split above. ",
        "For per-call timing, export the spans to an OpenTelemetry backend (OTEL_EXPORTER_OTLP_ENDPOINT).")));
    wrap.append(metaCard(r));
    return wrap;
  }

  function timeSplit(t) {
    const wall = t.wall_time_s || 0;
    const bar = h("div", { class: "split", role: "img",
      "aria-label": `API ${fmtDuration(t.api_time_s)}, tools ${fmtDuration(t.tool_time_s)}, idle ${fmtDuration(t.idle_time_s)} of ${fmtDuration(wall)} wall time` });
    for (const [cls, v] of [["api", t.api_time_s], ["tool", t.tool_time_s], ["idle", t.idle_time_s]]) {
      const seg = h("span", { class: "seg " + cls });
      seg.style.flexGrow = String(wall > 0 ? v / wall : cls === "idle" ? 1 : 0);
      bar.append(seg);
    }
    return h("section", { class: "card", "aria-labelledby": "split-h" }, h("h2", { id: "split-h" }, "Where the time went"), bar,
      h("ul", { class: "legend" },
        h("li", {}, h("span", { class: "dot api" }), `API ${fmtDuration(t.api_time_s)} (${t.api_percent.toFixed(1)}% of active)`),
        h("li", {}, h("span", { class: "dot tool" }), `Tools ${fmtDuration(t.tool_time_s)} (${t.tool_percent.toFixed(1)}% of active)`),
        h("li", {}, h("span", { class: "dot idle" }), `Idle ${fmtDuration(t.idle_time_s)}`)));
  }

  function decisionsCard(r) {
    const d = r.decisions || {};
    const total = Object.values(d).reduce((a, b) => a + b, 0);
    const card = h("section", { class: "card", "aria-labelledby": "decisions-h" }, h("h2", { id: "decisions-h" }, "Decisions"));
    if (!total) {
      card.append(h("p", { class: "muted" }, "No tool call was reviewed."));
      return card;
    }
    const t = h("table", { class: "data compact", id: "decisions" }, h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Decision"), h("th", { scope: "col", class: "num" }, "Count"), h("th", { scope: "col" }, "Made by"))));
    const body = h("tbody");
    for (const k of ["accept", "auto_accept", "modify", "reject"]) {
      if (!d[k]) continue;
      const by = (r.decision_sources || {})[k];
      body.append(h("tr", {}, h("th", { scope: "row" }, k.replace("_", " ")), num(fmtCount(d[k]), d[k]),
        h("td", {}, by ? Object.entries(by).map(([s, n]) => `${s} ${n}`).join(", ") : "—")));
    }
    t.append(body);
    card.append(t);
    return card;
  }

  function filesCard(r) {
    const c = r.code_changes;
    const card = h("section", { class: "card", "aria-labelledby": "files-h" }, h("h2", { id: "files-h" }, "Changed files"));
    if (!c) {
      card.append(h("p", { class: "muted" }, "Code changes unknown: " + ((r.metadata || {}).code_changes_error || "not recorded") + "."));
      return card;
    }
    const files = Array.isArray(c.files) ? c.files : [];
    if (!files.length) {
      let text = "No files changed.";
      if (c.files_changed == null && (c.lines_added || c.lines_removed)) {
        text = `${c.measured_by || "The source"} reported ${fmtChanges(c.lines_added, c.lines_removed)} lines without naming the files.`;
      } else if (c.files_changed) {
        text = `${fmtCount(c.files_changed)} file${c.files_changed === 1 ? "" : "s"} changed (${fmtChanges(c.lines_added, c.lines_removed)}); the record does not name them.`;
      }
      card.append(h("p", { class: "muted", id: "files-note" }, text));
      return card;
    }
    const t = h("table", { class: "data compact", id: "files" }, h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "File"), h("th", { scope: "col", class: "num" }, "Added"), h("th", { scope: "col", class: "num" }, "Removed"))));
    const body = h("tbody");
    for (const f of files) {
      const name = f.old_path ? `${f.old_path} → ${f.path}` : f.path;
      body.append(h("tr", {}, h("td", { class: "mono" }, name),
        f.binary ? h("td", { class: "num", colspan: "2" }, "binary") : num("+" + fmtCount(f.added), f.added),
        f.binary ? null : num("−" + fmtCount(f.removed), f.removed)));
    }
    t.append(body);
    card.append(h("div", { class: "scroll" }, t));
    if (c.files_changed > files.length) card.append(h("p", { class: "muted" }, `and ${fmtCount(c.files_changed - files.length)} more files`));
    return card;
  }

  function metaCard(r) {
    const m = r.metadata || {};
    const rows = [["Service", m["service.name"]], ["Source", m.source], ["Git branch", m["git.branch"]], ["Git commit", m["git.commit"]],
      ["Host", m.host], ["Working folder", m.cwd], ["radium-otel", m["radium.version"] || m.version],
      ["Tags", m.tags && Object.keys(m.tags).length ? Object.entries(m.tags).map(([k, v]) => `${k}=${v}`).join(", ") : null],
      ["Priced with", r.pricing ? `${r.pricing.source} ${r.pricing.version || ""}`.trim() : null]];
    const dl = h("dl", { class: "meta-list" });
    for (const [k, v] of rows) if (v != null && v !== "") dl.append(h("dt", {}, k), h("dd", {}, String(v)));
    return h("section", { class: "card", "aria-labelledby": "meta-h" }, h("h2", { id: "meta-h" }, "Details"), dl,
      h("p", { class: "muted" }, "The same record: ", h("code", {}, `rad stats session ${r.id} --json`)));
  }

  // --- tables shared by pages -----------------------------------------------------------
  function modelTable(report, title, id) {
    const head = ["Model", "Provider", "Sessions", "Requests", "Errors", "Input", "Cache read", "Output", "Reasoning", "Avg latency", "Cost"];
    const t = h("table", { class: "data", id }, h("caption", { class: "sr-only" }, title),
      h("thead", {}, h("tr", {}, head.map((c, i) => h("th", { scope: "col", class: i > 1 ? "num" : null }, c)))));
    const body = h("tbody");
    const row = (m, name) => h("tr", { "data-model": m.model || "" },
      h("th", { scope: "row" }, name), h("td", {}, m.provider || "—"),
      num(fmtCount(m.sessions), m.sessions), num(fmtCount(m.requests), m.requests),
      num(fmtCount(m.errors), m.errors, m.errors ? "bad" : null), num(fmtCount(m.input_tokens), m.input_tokens),
      num(fmtCount(m.cache_read_tokens), m.cache_read_tokens), num(fmtCount(m.output_tokens), m.output_tokens),
      num(fmtCount(m.reasoning_tokens), m.reasoning_tokens), num(fmtDuration(m.avg_latency_s), m.avg_latency_s),
      num(fmtUsd(m.cost_usd, m.cost_partial), m.cost_usd));
    for (const m of report.models) body.append(row(m, m.model));
    t.append(body);
    if (report.models.length > 1) t.append(h("tfoot", {}, row(report.total, "Total")));
    return h("section", { class: "card", "aria-label": title }, h("h2", {}, title),
      report.models.length ? h("div", { class: "scroll" }, t) : h("p", { class: "muted" }, "No model requests."));
  }

  function toolTable(report, title, id) {
    const head = ["Tool", "Sessions", "Calls", "Succeeded", "Failed", "Success", "Failures by error type", "Avg duration", "Total time"];
    const t = h("table", { class: "data", id }, h("caption", { class: "sr-only" }, title),
      h("thead", {}, h("tr", {}, head.map((c, i) => h("th", { scope: "col", class: i > 0 && i !== 6 ? "num" : null }, c)))));
    const body = h("tbody");
    const row = (r, name) => h("tr", { "data-tool": r.tool || "", class: r.failures ? "has-failures" : null },
      h("th", { scope: "row" }, name), num(fmtCount(r.sessions), r.sessions), num(fmtCount(r.calls), r.calls),
      num(fmtCount(r.successes), r.successes), num(fmtCount(r.failures), r.failures, r.failures ? "bad" : null),
      num(fmtRate(r.success_rate), r.success_rate, r.failures ? "bad" : null),
      h("td", { class: "errors", "data-value": dataValue(r.error_types) },
        Object.keys(r.error_types).length ? Object.entries(r.error_types).map(([k, n]) => h("span", { class: "pill bad" }, `${k} × ${n}`)) : "—"),
      num(fmtDuration(r.avg_duration_s), r.avg_duration_s), num(fmtDuration(r.duration_s), r.duration_s));
    for (const r of report.tools) body.append(row(r, r.tool));
    t.append(body);
    if (report.tools.length > 1) t.append(h("tfoot", {}, row(report.total, "Total")));
    return h("section", { class: "card", "aria-label": title }, h("h2", {}, title),
      report.tools.length ? h("div", { class: "scroll" }, t) : h("p", { class: "muted" }, "No tool calls."));
  }

  // --- tools and models pages --------------------------------------------------------------
  async function viewTools(route) {
    const p = route.params;
    const data = REPORT ? REPORT.tools : await api("tools", { since: p.since, until: p.until });
    const wrap = h("div", { class: "page" });
    wrap.append(h("div", { class: "page-head" }, h("h1", {}, "Tools"), windowNote(data)));
    if (!REPORT) wrap.append(rangeControls(p, "tools", false));
    if (!data.tools.length) {
      wrap.append(h("p", { class: "empty" }, "No tool calls in this window."));
      return wrap;
    }
    const tools = data.tools;
    const grid = h("div", { class: "grid" });
    const failing = tools.filter((t) => t.failures).sort((a, b) => (1 - a.success_rate) < (1 - b.success_rate) ? 1 : -1).slice(0, 15);
    if (failing.length) {
      const names = failing.map((t) => t.tool);
      grid.append(chart("Failure rate by tool", "Failed calls out of executed calls, for the tools that failed.", () => {
        const ox = ordinalX(names);
        return { opts: {
          scales: { x: ox.scale, y: { range: [0, 100] } },
          axes: [ox.axis, { values: (u, v) => v.map((x) => x + "%"), size: 50 }],
          series: [{ value: (u, v) => (v == null ? "" : names[v]) }, { label: "failure rate", fill: PALETTE[7], stroke: PALETTE[7], width: 0, paths: bars(0.6), points: { show: false },
            value: (u, v, si, i) => (i == null ? "" : `${fmtRate(1 - failing[i].success_rate)} (${fmtCount(failing[i].failures)} of ${fmtCount(failing[i].calls)})`) }],
        }, data: [names.map((_, i) => i), failing.map((t) => 100 * (1 - t.success_rate))] };
      }));
    }
    const byName = Object.fromEntries(tools.map((t) => [t.tool, t]));
    const slow = data.slowest.slice(0, 15).map((n) => byName[n]);
    const slowNames = slow.map((t) => t.tool);
    grid.append(chart("Slowest tools", "Average duration of a call, slowest first.", () => {
      const ox = ordinalX(slowNames);
      return { opts: {
        scales: { x: ox.scale, y: { range: (u, a, b) => [0, b > 0 ? b * 1.1 : 1] } },
        axes: [ox.axis, { values: (u, v) => v.map((x) => fmtDuration(x)), size: 60 }],
        series: [{ value: (u, v) => (v == null ? "" : slowNames[v]) }, { label: "average duration", fill: PALETTE[2], stroke: PALETTE[2], width: 0, paths: bars(0.6), points: { show: false },
          value: (u, v) => (v == null ? "" : fmtDuration(v)) }],
      }, data: [slowNames.map((_, i) => i), slow.map((t) => t.avg_duration_s)] };
    }));
    wrap.append(grid);
    wrap.append(toolTable(data, "All tools", "tools"));
    const d = data.decisions;
    wrap.append(h("section", { class: "card", "aria-label": "Decisions" }, h("h2", {}, "Decisions"),
      h("p", { id: "decision-summary", "data-value": dataValue(d) },
        d.reviewed ? `${fmtCount(d.reviewed)} reviewed: ${fmtCount(d.accept)} accepted, ${fmtCount(d.auto_accept)} auto-accepted, ` +
          `${fmtCount(d.modify)} modified, ${fmtCount(d.reject)} rejected · agreement ${fmtRate(d.agreement_rate)}` : "No tool call was reviewed.")));
    return wrap;
  }

  async function viewModels(route) {
    const p = route.params;
    const data = REPORT ? REPORT.models : await api("models", { since: p.since, until: p.until });
    const wrap = h("div", { class: "page" });
    wrap.append(h("div", { class: "page-head" }, h("h1", {}, "Models"), windowNote(data)));
    if (!REPORT) wrap.append(rangeControls(p, "models", false));
    if (!data.models.length) {
      wrap.append(h("p", { class: "empty" }, "No model requests in this window."));
      return wrap;
    }
    const top = data.models.slice(0, 12);
    const names = top.map((m) => m.model);
    const grid = h("div", { class: "grid" });
    grid.append(chart("Cost by model", "What each model cost in this window (unpriced models show n/a).", () => {
      const ox = ordinalX(names);
      return { opts: {
        scales: { x: ox.scale, y: { range: (u, a, b) => [0, b > 0 ? b * 1.1 : 1] } },
        axes: [ox.axis, { values: (u, v) => v.map((x) => fmtUsd(x)), size: 70 }],
        series: [{ value: (u, v) => (v == null ? "" : names[v]) }, { label: "cost", fill: PALETTE[0], stroke: PALETTE[0], width: 0, paths: bars(0.6), points: { show: false },
          value: (u, v, si, i) => (i == null ? "" : fmtUsd(top[i].cost_usd, top[i].cost_partial)) }],
      }, data: [names.map((_, i) => i), top.map((m) => m.cost_usd)] };
    }));
    grid.append(chart("Tokens by model", "Input tokens (of them read from the cache) and output tokens.", () => stacked(names, [
      { label: "cache read", values: top.map((m) => m.cache_read_tokens) },
      { label: "input, not cached", values: top.map((m) => m.input_tokens - m.cache_read_tokens) },
      { label: "output", values: top.map((m) => m.output_tokens) },
    ], (v) => fmtCount(Math.round(v)))));
    wrap.append(grid);
    wrap.append(modelTable(data, "All models", "models"));
    return wrap;
  }

  async function viewNotFound() {
    return h("div", { class: "page" }, h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/overview" }, "Back to the overview")));
  }

  const VIEWS = { overview: viewOverview, sessions: viewSessions, session: viewSession, tools: viewTools, models: viewModels, notfound: viewNotFound };

  // --- live updates --------------------------------------------------------------------------
  let liveVersion = null;
  async function poll() {
    try {
      const data = await api("live");
      const el = document.getElementById("live");
      el.replaceChildren(data.active.length
        ? h("a", { href: "#/sessions?status=active" }, h("span", { class: "pulse", "aria-hidden": "true" }), `${data.active.length} live session${data.active.length === 1 ? "" : "s"}`)
        : h("span", { class: "muted" }, "no live sessions"));
      if (liveVersion !== null && data.version !== liveVersion) {
        const busy = document.activeElement && main.contains(document.activeElement) && /^(INPUT|SELECT)$/.test(document.activeElement.tagName);
        if (!busy) render({ quiet: true, keepFocus: true });
      }
      liveVersion = data.version;
    } catch (err) {
      document.getElementById("live").textContent = "server not reachable";
    }
  }

  // --- keyboard ------------------------------------------------------------------------------
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && /^(INPUT|SELECT|TEXTAREA)$/.test(t.tagName)) return;
    const links = Array.from(document.querySelectorAll("#sessions tbody a"));
    const at = links.indexOf(document.activeElement);
    if ((e.key === "j" || e.key === "ArrowDown") && links.length && (at >= 0 || e.key === "j")) {
      e.preventDefault();
      links[Math.min(at + 1, links.length - 1)].focus();
    } else if ((e.key === "k" || e.key === "ArrowUp") && at >= 0) {
      e.preventDefault();
      links[Math.max(at - 1, 0)].focus();
    } else if (e.key === "/") {
      const first = main.querySelector("form select, form input");
      if (first) { e.preventDefault(); first.focus(); }
    } else if (/^[1-4]$/.test(e.key)) {
      go(["overview", "sessions", "tools", "models"][Number(e.key) - 1], {});
    }
  });

  function start() {
    main = document.getElementById("main");
    const foot = document.getElementById("foot");
    foot.append(REPORT
      ? `radium-otel ${REPORT.version} · report generated ${fmtTime(REPORT.generated_at)} UTC from ${REPORT.workspace} · works offline`
      : "radium-otel · read-only · keys: 1–4 views, / filters, j/k rows");
    window.addEventListener("hashchange", () => render());
    render({ initial: true }); // focus stays at the top of the page (the skip link comes first)
    if (!REPORT) {
      poll();
      setInterval(poll, 3000);
    } else {
      document.getElementById("live").textContent = "report";
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
