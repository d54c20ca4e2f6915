/* ft-harness report: the grid (virtualised rows), filters, and the details drawer.
 * Every text from a record reaches the page through textContent or an attribute, never as HTML. */
(function () {
  "use strict";
  const t0 = performance.now();
  const CONFIG = window.FT_CONFIG;
  const DATA = JSON.parse(document.getElementById("ft-grid").textContent);
  const ROW_H = CONFIG.rowHeight;
  const OVERSCAN = 10;
  const DIMENSIONS = Object.keys(DATA.dimensions);
  const OUTCOMES = DATA.outcomes;
  const LIGHT = new Set(CONFIG.light);
  const nRows = DATA.rows.length;
  const nCells = DATA.cells.length;

  // -- small DOM helpers ------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === "class") node.className = value;
        else if (key === "text") node.textContent = value;
        else node.setAttribute(key, value);
      }
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    }
    return node;
  }
  const outcomeOf = (code) => OUTCOMES[code & 15];
  const unexpectedOf = (code) => (code >> 4) & 1;
  const signatureOf = (code) => DATA.signatures[code >> 5];

  // -- state ------------------------------------------------------------------------------------
  const state = {
    search: "",
    outcomes: new Set(OUTCOMES),
    groupBy: document.getElementById("group-by").value,
    dims: Object.fromEntries(DIMENSIONS.map((d) => [d, ""])),
    versions: {},
    onlyUnexpected: false,
    onlyDiffering: false,
    collapsed: new Set(),
  };
  let visibleCells = [];
  let items = [];
  let selected = null;

  // Searchable text of each row: id, description, tags, and the errors of its cells.
  const rowText = DATA.rows.map((row, r) => {
    const parts = [row.id, row.description, row.source, (row.tags || []).join(" ")];
    const seen = new Set();
    for (const code of DATA.grid[r]) {
      if (code < 0) continue;
      const sig = signatureOf(code);
      if (sig[0] && !seen.has(sig[0])) { seen.add(sig[0]); parts.push(sig[0], sig[1], sig[2]); }
      parts.push(outcomeOf(code));
    }
    return parts.join("\n").toLowerCase();
  });

  // -- toolbar ----------------------------------------------------------------------------------
  function buildToolbar() {
    const totals = {};
    for (const cell of DATA.cells) for (const [o, n] of Object.entries(cell.counts)) totals[o] = (totals[o] || 0) + n;
    const chips = document.getElementById("outcome-filters");
    for (const [index, outcome] of OUTCOMES.entries()) {
      if (!totals[outcome]) continue;
      const box = el("input", { type: "checkbox", checked: "checked", "data-outcome": outcome });
      const chip = el("label", { class: "chip-toggle", title: "show " + outcome }, box, el("span", { class: "sw o" + index }), outcome + " " + totals[outcome]);
      box.addEventListener("change", () => {
        if (box.checked) state.outcomes.add(outcome); else state.outcomes.delete(outcome);
        chip.classList.toggle("off", !box.checked);
        refresh();
      });
      chips.appendChild(chip);
    }
    const dimensionFilters = document.getElementById("dimension-filters");
    for (const [d, name] of DIMENSIONS.entries()) {
      const values = DATA.dimensions[name];
      if (values.length < 2) continue;
      const select = el("select", { "data-dimension": name, "aria-label": name }, el("option", { value: "" }, "all " + plural(name)));
      for (const [i, value] of values.entries()) select.appendChild(el("option", { value: String(i) }, value));
      select.addEventListener("change", () => { state.dims[name] = select.value; refresh(); });
      dimensionFilters.appendChild(select);
      dimensionFilters.appendChild(document.createTextNode(" "));
      void d;
    }
    const versionFilters = document.getElementById("version-filters");
    for (const pkg of ["transformers", "peft", "bitsandbytes", "torch", "accelerate", "python"]) {
      const values = [...new Set(DATA.cells.map((c) => c.versions[pkg]).filter(Boolean))];
      if (values.length < 2) continue;
      const select = el("select", { "data-package": pkg, "aria-label": pkg }, el("option", { value: "" }, "all " + pkg));
      for (const value of values.sort(compareVersions)) select.appendChild(el("option", { value }, pkg + " " + value));
      select.addEventListener("change", () => { state.versions[pkg] = select.value; refresh(); });
      versionFilters.appendChild(select);
      versionFilters.appendChild(document.createTextNode(" "));
    }
    let timer = 0;
    const search = document.getElementById("search");
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const started = performance.now();
        state.search = search.value.trim().toLowerCase();
        refresh();
        window.FT_REPORT.searchMs = performance.now() - started;  // filtering and redrawing (bench)
        document.documentElement.dataset.searched = search.value.trim();
      }, 120);
    });
    document.getElementById("group-by").addEventListener("change", (event) => { state.groupBy = event.target.value; state.collapsed.clear(); refresh(); });
    document.getElementById("only-unexpected").addEventListener("change", (event) => { state.onlyUnexpected = event.target.checked; refresh(); });
    document.getElementById("only-differing").addEventListener("change", (event) => { state.onlyDiffering = event.target.checked; refresh(); });
  }
  const plural = (name) => (name.endsWith("y") ? name.slice(0, -1) + "ies" : name + "s");

  function compareVersions(a, b) {
    const pa = String(a).split(/[.+-]/), pb = String(b).split(/[.+-]/);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
      const x = pa[i] || "0", y = pb[i] || "0";
      const nx = Number(x), ny = Number(y);
      if (!Number.isNaN(nx) && !Number.isNaN(ny)) { if (nx !== ny) return nx - ny; }
      else if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  }

  // -- filtering and grouping -------------------------------------------------------------------
  function rowVisible(r) {
    const row = DATA.rows[r];
    for (const [d, name] of DIMENSIONS.entries()) {
      if (state.dims[name] !== "" && String(row.dims[d]) !== state.dims[name]) return false;
    }
    if (state.search) {
      for (const term of state.search.split(/\s+/)) if (!rowText[r].includes(term)) return false;
    }
    const codes = DATA.grid[r];
    let shown = false, unexpected = false;
    const outcomes = new Set();
    for (const c of visibleCells) {
      const code = codes[c];
      if (code < 0) continue;
      outcomes.add(code & 15);
      if (state.outcomes.has(outcomeOf(code))) shown = true;
      if (unexpectedOf(code)) unexpected = true;
    }
    if (!shown) return false;
    if (state.onlyUnexpected && !unexpected) return false;
    if (state.onlyDiffering && outcomes.size < 2) return false;
    return true;
  }

  function computeItems() {
    visibleCells = [];
    for (let c = 0; c < nCells; c++) {
      const versions = DATA.cells[c].versions;
      let keep = true;
      for (const [pkg, value] of Object.entries(state.versions)) if (value && versions[pkg] !== value) keep = false;
      if (keep) visibleCells.push(c);
    }
    const rows = [];
    for (let r = 0; r < nRows; r++) if (rowVisible(r)) rows.push(r);
    items = [];
    if (!state.groupBy) {
      for (const r of rows) items.push({ row: r });
    } else {
      const d = DIMENSIONS.indexOf(state.groupBy);
      const groups = new Map();
      for (const r of rows) {
        const value = DATA.dimensions[state.groupBy][DATA.rows[r].dims[d]];
        if (!groups.has(value)) groups.set(value, []);
        groups.get(value).push(r);
      }
      for (const value of [...groups.keys()].sort()) {
        const members = groups.get(value);
        items.push({ group: value, count: members.length });
        if (!state.collapsed.has(value)) for (const r of members) items.push({ row: r });
      }
    }
    document.getElementById("counter").textContent =
      rows.length + " of " + nRows + " variants · " + visibleCells.length + " of " + nCells + " cells";
    document.documentElement.dataset.shown = rows.length;
  }

  // -- rendering --------------------------------------------------------------------------------
  const scroller = document.getElementById("grid-scroll");
  const head = document.getElementById("grid-head");
  const body = document.getElementById("grid-body");
  const win = document.getElementById("grid-window");
  let template = "";
  let rendered = [-1, -1];

  function columnsTemplate() {
    return "var(--label-w) repeat(" + visibleCells.length + ", var(--cell-w))";
  }

  function renderHead() {
    template = columnsTemplate();
    head.style.gridTemplateColumns = template;
    const width = "calc(var(--label-w) + " + visibleCells.length + " * var(--cell-w))";
    head.style.width = width;
    body.style.width = width;
    const corner = el("div", { class: "corner" }, "scenario variant \u2193 / cell \u2192");
    const heads = [corner];
    const varying = new Set();
    for (const pkg of ["transformers", "peft", "bitsandbytes", "torch", "accelerate", "python"]) {
      if (new Set(DATA.cells.map((c) => c.versions[pkg])).size > 1) varying.add(pkg);
    }
    const names = { py: "python", tf: "transformers", bnb: "bitsandbytes", acc: "accelerate" };
    for (const c of visibleCells) {
      const cell = DATA.cells[c];
      const lines = cell.header.map(([name, version]) =>
        el("div", { class: "v" + (varying.has(names[name] || name) ? "" : " same") }, el("span", null, name + " "), el("b", null, version)));
      const total = Object.values(cell.counts).reduce((a, b) => a + b, 0) || 1;
      const bar = el("div", { class: "minibar" });
      for (const [index, outcome] of OUTCOMES.entries()) {
        const n = cell.counts[outcome];
        if (n) bar.appendChild(el("span", { class: "o" + index, style: "width:" + (100 * n / total).toFixed(2) + "%", title: n + " " + outcome }));
      }
      const summary = Object.entries(cell.counts).map(([o, n]) => n + " " + o).join(", ");
      heads.push(el("div", { class: "colhead", title: cell.key + "\n" + summary, "data-cell": c }, el("span", { class: "num" }, "#" + (c + 1)), ...lines, bar));
    }
    head.replaceChildren(...heads);
  }

  function renderWindow(force) {
    const top = scroller.scrollTop;
    const height = scroller.clientHeight || 800;
    const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const last = Math.min(items.length, Math.ceil((top + height) / ROW_H) + OVERSCAN);
    if (!force && first === rendered[0] && last === rendered[1]) return;
    rendered = [first, last];
    win.style.top = first * ROW_H + "px";
    const fragment = document.createDocumentFragment();
    for (let i = first; i < last; i++) fragment.appendChild(renderItem(items[i]));
    win.replaceChildren(fragment);
    if (!items.length) win.replaceChildren(el("div", { class: "empty" }, "No variant matches these filters."));
  }

  function renderItem(item) {
    if (item.group !== undefined) {
      const caret = state.collapsed.has(item.group) ? "\u25B8" : "\u25BE";
      const node = el("div", { class: "ggroup", "data-group": item.group },
        el("span", { class: "glabel" }, el("span", { class: "caret" }, caret), state.groupBy + ": " + item.group, el("span", { class: "gcount" }, item.count + " variants")));
      node.style.width = body.style.width;
      return node;
    }
    const r = item.row;
    const row = DATA.rows[r];
    const line = el("div", { class: "grow", "data-row": r });
    line.style.gridTemplateColumns = template;
    line.appendChild(el("div", { class: "rlabel", title: row.id + "\n" + row.description + "\n" + row.source }, row.id));
    const codes = DATA.grid[r];
    for (const c of visibleCells) {
      const code = codes[c];
      if (code < 0) { line.appendChild(el("div", { class: "c none", title: "no record in this cell" })); continue; }
      const outcome = outcomeOf(code);
      const sig = signatureOf(code);
      let cls = "c o" + (code & 15);
      if (LIGHT.has(outcome)) cls += " light";
      if (unexpectedOf(code)) cls += " u";
      if (!state.outcomes.has(outcome)) cls += " dim";
      if (selected && selected[0] === r && selected[1] === c) cls += " sel";
      const title = outcome + (unexpectedOf(code) ? " (unexpected)" : "") + (sig[1] ? "\n" + sig[1] : "") + "\n" + DATA.cells[c].key;
      line.appendChild(el("div", { class: cls, "data-cell": c, title }, sig[2] || (outcome === "passed" ? "" : outcome)));
    }
    return line;
  }

  function refresh() {
    computeItems();
    renderHead();
    body.style.height = items.length * ROW_H + "px";
    renderWindow(true);
  }

  // -- details ----------------------------------------------------------------------------------
  // Details come in blocks of rows of one column ("<cell>-<block>"), inline or in files beside the page.
  const detailCache = new Map();
  const pending = new Map();
  window.ftDetails = function (key, data) {
    detailCache.set(key, data);
    const waiting = pending.get(key) || [];
    pending.delete(key);
    for (const resolve of waiting) resolve(data);
  };

  function loadDetails(cell, row) {
    const key = cell + "-" + Math.floor(row / CONFIG.detailsBlock);
    const pick = (block) => block[row % CONFIG.detailsBlock];
    if (detailCache.has(key)) return Promise.resolve(pick(detailCache.get(key)));
    const inline = document.getElementById("ft-details-" + key);
    if (inline) {
      const data = JSON.parse(inline.textContent);
      detailCache.set(key, data);
      return Promise.resolve(pick(data));
    }
    return new Promise((resolve, reject) => {
      const done = (data) => resolve(pick(data));
      if (pending.has(key)) { pending.get(key).push(done); return; }
      pending.set(key, [done]);
      const script = document.createElement("script");
      script.src = CONFIG.detailsPath + "cell-" + key + ".js";
      script.onerror = () => reject(new Error("cannot load " + script.src + " (keep the details folder beside the report)"));
      document.head.appendChild(script);
    });
  }

  const drawer = document.getElementById("details");
  const drawerHead = document.getElementById("details-head");
  const drawerBody = document.getElementById("details-body");

  function openDetails(r, c) {
    const started = performance.now();
    selected = [r, c];
    renderWindow(true);
    drawer.hidden = false;
    drawer.dataset.row = r;
    drawer.dataset.cell = c;
    drawerHead.replaceChildren(el("h2", null, DATA.rows[r].id), el("div", { class: "muted" }, "loading…"));
    drawerBody.replaceChildren();
    return loadDetails(c, r).then((details) => {
      if (!details) { drawerHead.replaceChildren(el("h2", null, DATA.rows[r].id), el("div", null, "No record in this cell.")); return; }
      renderDetails(details, DATA.cells[c], DATA.rows[r]);
      window.FT_REPORT.detailsMs = performance.now() - started;  // click to details drawn (bench)
    }, (error) => { drawerBody.replaceChildren(el("p", { class: "tag bad" }, String(error.message))); });
  }

  function closeDetails() {
    drawer.hidden = true;
    selected = null;
    renderWindow(true);
  }

  function badge(outcome) {
    const index = OUTCOMES.indexOf(outcome);
    return el("span", { class: "badge o" + index + (LIGHT.has(outcome) ? " light" : "") }, outcome);
  }

  function section(title, ...content) {
    const parts = content.filter((x) => x !== null && x !== undefined && x !== false);
    if (!parts.length) return null;
    return el("div", { class: "dsection", "data-section": title }, el("h3", null, title), ...parts);
  }

  function kvTable(object, skip) {
    const rows = Object.entries(object || {}).filter(([k, v]) => !(skip && skip.includes(k)) && v !== null && v !== undefined && !(Array.isArray(v) && !v.length) && !(typeof v === "object" && !Array.isArray(v) && !Object.keys(v).length));
    if (!rows.length) return null;
    return el("table", { class: "kv" }, el("tbody", null, ...rows.map(([k, v]) => el("tr", null, el("th", null, k), el("td", { class: "msg" }, formatValue(v))))));
  }

  function formatValue(value) {
    if (typeof value === "string") return value;
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Math.round(value * 1e6) / 1e6);
    return JSON.stringify(value);
  }

  function safeLink(url) {
    // Only web links become anchors: a record cannot inject javascript: or data: URLs.
    if (/^https?:\/\//i.test(url)) return el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, url);
    return el("code", null, url);
  }

  function copyButton(text) {
    const button = el("button", { class: "copy", type: "button" }, "Copy");
    button.addEventListener("click", () => {
      const done = () => { button.textContent = "Copied"; setTimeout(() => { button.textContent = "Copy"; }, 1500); };
      const fallback = () => {
        const area = el("textarea");
        area.value = text;
        document.body.appendChild(area);
        area.select();
        try { document.execCommand("copy"); done(); } finally { area.remove(); }
      };
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, fallback);
      else fallback();
    });
    return button;
  }

  function renderDetails(d, cell, row) {
    const command = cell.install + "\n" + d.run_command;
    const expectation = d.expectation || {};
    const unexpected = expectation.verdict === "unexpected";
    drawerHead.replaceChildren(
      el("h2", null, d.id),
      el("div", null, badge(d.outcome), " ",
        d.phase ? el("span", { class: "tag" }, "phase: " + d.phase) : null, " ",
        el("span", { class: "tag " + (unexpected ? "bad" : "good") }, unexpected ? "unexpected" : "as expected"), " ",
        el("span", { class: "muted", title: cell.key }, cell.label)),
      d.description ? el("div", { class: "muted" }, d.description) : null,
    );
    const parts = [];
    if (d.signature && d.outcome !== "passed") parts.push(section("Signature", el("div", { class: "mono msg", "data-field": "signature" }, d.signature.text)));
    if (d.reason) parts.push(section("Reason", el("div", { class: "msg", "data-field": "reason" }, d.reason)));
    const error = d.error;
    if (error) {
      const causes = (error.causes || []).map((cause) => el("div", { class: "cause" },
        el("div", { class: "muted" }, cause.relation === "context" ? "during handling of:" : "caused by:"),
        el("div", { class: "msg" }, el("b", null, cause.type + ": "), cause.message)));
      const frames = (error.traceback || []).map((f) => el("tr", null, el("td", null, f.file + ":" + (f.line ?? "")), el("td", null, f.function), el("td", null, f.code)));
      parts.push(section("Error",
        el("pre", { class: "block", "data-field": "error" }, error.type + ": " + error.message),
        causes.length ? el("div", null, ...causes) : null));
      if (frames.length) parts.push(section("Traceback (innermost last)", el("table", { class: "list frames" }, el("tbody", null, ...frames))));
    }
    if (unexpected) {
      parts.push(section("Expected here",
        kvTable(expectation.expected, ["when"]),
        el("ul", null, ...(expectation.mismatches || []).map((m) => el("li", { class: "msg" }, m)))));
    }
    parts.push(section("Reproduce", copyButton(command), el("div", { class: "muted" }, "Installs the cell's exact pins, then reruns this variant:"), el("pre", { class: "cmd", "data-field": "command" }, command),
      el("div", { class: "muted" }, "Or a standalone script without the harness: ", el("code", null, "harness repro '" + d.id + "' --cell '" + cell.key + "'"))));
    const logs = (d.logs || []).map((l) => el("tr", null, el("td", null, l.level), el("td", null, l.logger), el("td", { class: "msg" }, l.message + (l.count > 1 ? "  (×" + l.count + ")" : ""))));
    if (logs.length) parts.push(section("Log records", el("table", { class: "list" }, el("tbody", null, ...logs))));
    const warnings = (d.warnings || []).map((w) => el("tr", null, el("td", null, w.category), el("td", { class: "msg" }, w.message + (w.count > 1 ? "  (×" + w.count + ")" : ""), el("div", { class: "muted" }, w.source || ""))));
    if (warnings.length) parts.push(section("Warnings", el("table", { class: "list" }, el("tbody", null, ...warnings))));
    const checks = d.checks || {};
    const groups = Object.entries(checks.groups || {}).map(([name, g]) => el("tr", null, el("td", null, name), el("td", null, String(g.trainable)), el("td", null, String(g.with_grad)), el("td", null, String(g.nonzero_grad))));
    parts.push(section("Correctness checks",
      (checks.failed || []).length ? el("div", null, ...checks.failed.map((f) => el("span", { class: "tag bad" }, f))) : (d.outcome === "passed" ? el("span", { class: "tag good" }, "all checks held") : null),
      groups.length ? el("table", { class: "list" }, el("thead", null, el("tr", null, el("th", null, "parameters"), el("th", null, "trainable"), el("th", null, "with grad"), el("th", null, "non-zero grad"))), el("tbody", null, ...groups)) : null,
      kvTable(checks, ["groups", "failed"])));
    parts.push(section("What took effect", kvTable(d.effective)));
    const timings = Object.assign({}, d.timings || {});
    if (d.duration_s) timings["total (s)"] = d.duration_s;
    if (d.peak_rss_mb) timings["peak RSS (MB)"] = d.peak_rss_mb;
    if (d.peak_cuda_mb) timings["peak CUDA (MB)"] = d.peak_cuda_mb;
    parts.push(section("Timings (s)", kvTable(timings)));
    if ((d.claims || []).length) {
      parts.push(section("Claims judged here", ...d.claims.map((claim) => el("div", { class: "cause" },
        el("span", { class: "verdict " + claim.verdict }, claim.verdict), " ", el("span", { class: "msg" }, claim.says),
        el("div", { class: "muted msg" }, "what happened: " + claim.actual),
        ...(claim.failed || []).map((f) => el("div", { class: "msg" }, "✗ " + f))))));
    }
    if (d.output_tail) parts.push(section("Output tail" + (d.output_clipped ? " (last part)" : ""), el("pre", { class: "block" }, d.output_tail)));
    const env = Object.assign({}, cell.env, d.env_differs || {});
    const lock = Object.entries(cell.lock || {}).map(([name, version]) => name + "==" + version).join("\n");
    parts.push(section("Environment", kvTable(env, ["executable"]),
      lock ? el("details", null, el("summary", null, "lock: " + Object.keys(cell.lock).length + " distributions"), el("pre", { class: "block" }, lock)) : el("div", { class: "muted" }, "no lock recorded (the cell was never built)")));
    const source = el("div", null, el("code", null, d.source + ":" + d.line), " · run ", el("code", null, d.run_id || ""), " · ", d.started_at || "", d.superseded ? " · " + d.superseded + " older record(s) of this variant in this run" : "");
    const links = (d.links || []).map((link) => el("div", null, safeLink(link)));
    parts.push(section("Scenario", source, Object.keys(d.axes || {}).length ? kvTable(d.axes) : null, ...links));
    drawerBody.replaceChildren(...parts.filter(Boolean));
  }

  // -- events -----------------------------------------------------------------------------------
  scroller.addEventListener("scroll", () => requestAnimationFrame(() => renderWindow(false)), { passive: true });
  window.addEventListener("resize", () => renderWindow(true));
  win.addEventListener("click", (event) => {
    const group = event.target.closest(".ggroup");
    if (group) {
      const value = group.dataset.group;
      if (state.collapsed.has(value)) state.collapsed.delete(value); else state.collapsed.add(value);
      refresh();
      return;
    }
    const cell = event.target.closest(".c");
    if (!cell || cell.classList.contains("none")) return;
    openDetails(Number(cell.parentNode.dataset.row), Number(cell.dataset.cell));
  });
  document.getElementById("details-close").addEventListener("click", closeDetails);
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && !drawer.hidden) closeDetails(); });
  // Links from the other views: a cell chip opens its details; a scenario link searches the grid.
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-row][data-cell], a[data-search]");
    if (!link) return;
    event.preventDefault();
    if (link.dataset.search !== undefined) {
      const search = document.getElementById("search");
      search.value = link.dataset.search;
      state.search = link.dataset.search.toLowerCase();
      showView("grid");
      refresh();
      return;
    }
    openDetails(Number(link.dataset.row), Number(link.dataset.cell));
  });

  function showView(name) {
    for (const button of document.querySelectorAll(".tabs button")) button.classList.toggle("active", button.dataset.view === name);
    for (const view of document.querySelectorAll(".view")) view.classList.toggle("active", view.id === "view-" + name);
    if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
    if (name === "grid") renderWindow(true);
  }
  for (const button of document.querySelectorAll(".tabs button")) button.addEventListener("click", () => showView(button.dataset.view));

  buildToolbar();
  refresh();
  const initial = location.hash.slice(1);
  if (initial && document.getElementById("view-" + initial)) showView(initial);
  const ms = performance.now() - t0;
  document.documentElement.dataset.ready = ms.toFixed(1);
  // readyAt / paintedAt: milliseconds since navigation start (grid built / first frame with it
  // drawn), what bench/report_render.py reports
  window.FT_REPORT = { openDetails, refresh, state, renderMs: ms, readyAt: performance.now() };
  requestAnimationFrame(() => setTimeout(() => {
    window.FT_REPORT.paintedAt = performance.now();
    document.documentElement.dataset.painted = window.FT_REPORT.paintedAt.toFixed(1);
  }));
})();
