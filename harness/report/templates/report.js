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
  // signature table columns: [id, text, type label, gist (the grid's label), raw message]
  const labelOf = (code) => { const sig = signatureOf(code); return sig[3] || sig[2] || (outcomeOf(code) === "passed" ? "" : outcomeOf(code)); };
  const PACKAGES = DATA.packages;
  const FAILING = new Set(DATA.failing);
  const HISTORY = DATA.history || { runs: [], differences: {} };
  const RUNS = HISTORY.runs;
  const CURRENT_RUN = (RUNS.find((run) => run.current) || {}).number;
  const PREVIOUS_RUN = RUNS.filter((run) => !run.current && run.number < CURRENT_RUN).map((run) => run.number).pop();
  const DEFAULT_GROUP = document.getElementById("group-by").value;

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
    since: PREVIOUS_RUN === undefined ? "" : String(PREVIOUS_RUN),  // marks changes since this run
    onlyChanged: false,
    labelWidth: 0,  // px; 0 until fitted to the names
    userWidth: false,  // the maintainer resized the name column (kept in the link)
    view: "grid",
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
      if (sig[0] && !seen.has(sig[0])) { seen.add(sig[0]); parts.push(sig[0], sig[1], sig[2], sig[3], sig[4]); }
      parts.push(outcomeOf(code));
    }
    return parts.join("\n").toLowerCase();
  });

  // -- history: earlier runs are stored as their differences from this one ----------------------
  const differences = new Map();
  function differencesOf(run) {
    if (!differences.has(run)) {
      const map = new Map();
      for (const item of HISTORY.differences[run] || []) map.set(item[0] * nCells + item[1], item.length > 2 ? item.slice(2) : null);
      differences.set(run, map);
    }
    return differences.get(run);
  }
  function scenarioOf(r, c) { const s = DATA.rowScenarios[r]; return typeof s === "number" ? s : s[c]; }
  // [outcome index, signature index, scenario definition] of an entry in a run, null where none
  function stateIn(run, r, c) {
    if (String(run) !== String(CURRENT_RUN)) {
      const map = differencesOf(String(run));
      const key = r * nCells + c;
      if (map.has(key)) return map.get(key);
    }
    const code = DATA.grid[r][c];
    return code < 0 ? null : [code & 15, code >> 5, scenarioOf(r, c)];
  }
  // As the Python side's change_kind; a change between two scenario definitions says so.
  function changeKind(before, after) {
    if (!before || !after) return null;
    const old = OUTCOMES[before[0]], now = OUTCOMES[after[0]];
    let kind = null;
    if (FAILING.has(old) && now === "passed") kind = "fixed";
    else if (!FAILING.has(old) && now === "silent") kind = "newly silent";
    else if (!FAILING.has(old) && FAILING.has(now)) kind = "new failure";
    else if (FAILING.has(old) && FAILING.has(now) && (old !== now || before[1] !== after[1])) kind = "changed signature";
    // -1: a run the page has by outcomes only, without its scenario definitions
    return kind && { kind, edited: before[2] >= 0 && after[2] >= 0 && before[2] !== after[2], before, after };
  }
  const KIND_CLASS = { "new failure": "k-new", "newly silent": "k-new", "fixed": "k-fixed", "changed signature": "k-sig" };
  // Entries that may differ between two runs: those either run stores apart from this one.
  function changesBetween(from, to) {
    const keys = new Set();
    for (const run of [from, to]) if (String(run) !== String(CURRENT_RUN)) for (const key of differencesOf(String(run)).keys()) keys.add(key);
    const found = new Map();
    for (const key of [...keys].sort((a, b) => a - b)) {
      const r = Math.floor(key / nCells), c = key % nCells;
      const change = changeKind(stateIn(from, r, c), stateIn(to, r, c));
      if (change) found.set(key, change);
    }
    return found;
  }
  let sinceChanges = new Map();
  let changedRows = new Set();
  function computeSince() {
    sinceChanges = state.since === "" || CURRENT_RUN === undefined ? new Map() : changesBetween(state.since, CURRENT_RUN);
    changedRows = new Set([...sinceChanges.keys()].map((key) => Math.floor(key / nCells)));
  }

  // -- toolbar ----------------------------------------------------------------------------------
  const totals = {};
  for (const cell of DATA.cells) for (const [o, n] of Object.entries(cell.counts)) totals[o] = (totals[o] || 0) + n;
  function buildToolbar() {
    const chips = document.getElementById("outcome-filters");
    for (const [index, outcome] of OUTCOMES.entries()) {
      if (!totals[outcome]) continue;
      const box = el("input", { type: "checkbox", checked: "checked", "data-outcome": outcome });
      const chip = el("label", { class: "chip-toggle", title: "show " + outcome }, box, el("span", { class: "sw o" + index }), outcome + " " + totals[outcome]);
      box.addEventListener("change", () => {
        if (box.checked) state.outcomes.add(outcome); else state.outcomes.delete(outcome);
        chip.classList.toggle("off", !box.checked);
        refresh();
        writeHash();
      });
      chips.appendChild(chip);
    }
    const dimensionFilters = document.getElementById("dimension-filters");
    for (const [d, name] of DIMENSIONS.entries()) {
      const values = DATA.dimensions[name];
      if (values.length < 2) continue;
      const select = el("select", { "data-dimension": name, "aria-label": name }, el("option", { value: "" }, "all " + plural(name)));
      for (const [i, value] of values.entries()) select.appendChild(el("option", { value: String(i) }, value));
      select.addEventListener("change", () => { state.dims[name] = select.value; refresh(); writeHash(); });
      dimensionFilters.appendChild(select);
      dimensionFilters.appendChild(document.createTextNode(" "));
      void d;
    }
    const versionFilters = document.getElementById("version-filters");
    for (const pkg of PACKAGES) {
      const values = [...new Set(DATA.cells.map((c) => c.versions[pkg]).filter(Boolean))];
      if (values.length < 2) continue;
      const select = el("select", { "data-package": pkg, "aria-label": pkg }, el("option", { value: "" }, "all " + pkg));
      for (const value of values.sort(compareVersions)) select.appendChild(el("option", { value }, pkg + " " + value));
      select.addEventListener("change", () => { state.versions[pkg] = select.value; refresh(); writeHash(); });
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
        writeHash();
      }, 120);
    });
    document.getElementById("group-by").addEventListener("change", (event) => { state.groupBy = event.target.value; state.collapsed.clear(); refresh(); writeHash(); });
    document.getElementById("only-unexpected").addEventListener("change", (event) => { state.onlyUnexpected = event.target.checked; refresh(); writeHash(); });
    document.getElementById("only-differing").addEventListener("change", (event) => { state.onlyDiffering = event.target.checked; refresh(); writeHash(); });
    if (RUNS.length > 1 && CURRENT_RUN !== undefined) {
      document.getElementById("since-filter").hidden = false;
      const since = document.getElementById("since");
      since.appendChild(el("option", { value: "" }, "(none)"));
      for (const run of RUNS) if (!run.current) since.appendChild(el("option", { value: String(run.number) }, "#" + run.number + (run.label ? " " + run.label : "")));
      since.value = state.since;
      since.addEventListener("change", () => { state.since = since.value; computeSince(); refresh(); writeHash(); });
      document.getElementById("only-changed").addEventListener("change", (event) => { state.onlyChanged = event.target.checked; refresh(); writeHash(); });
    }
    const legendToggle = document.getElementById("legend-toggle");
    legendToggle.addEventListener("click", () => {
      const legend = document.getElementById("legend");
      legend.hidden = !legend.hidden;
      legendToggle.setAttribute("aria-expanded", String(!legend.hidden));
      if (!legend.hidden && !legend.firstChild) buildLegend(legend);
      writeHash();
    });
    document.getElementById("export-csv").addEventListener("click", () => download("ft-harness-grid.csv", "text/csv", toCsv(exportRows())));
    document.getElementById("export-json").addEventListener("click", () => download("ft-harness-grid.json", "application/json", JSON.stringify(exportRows(), null, 1)));
  }

  // The legend: what each label in the grid stands for, most frequent first; a click searches for it.
  function buildLegend(legend) {
    const counts = new Map();
    for (const codes of DATA.grid) for (const code of codes) if (code >= 0 && code >> 5) {
      const entry = counts.get(code >> 5) || { n: 0, outcomes: new Map() };
      entry.n++;
      entry.outcomes.set(code & 15, (entry.outcomes.get(code & 15) || 0) + 1);
      counts.set(code >> 5, entry);
    }
    const marks = el("div", { class: "marks" },
      el("span", null, el("i", { class: "usw" }), "unexpected here"),
      el("span", null, el("i", { class: "mk k-new" }), "new failure / newly silent since the chosen run"),
      el("span", null, el("i", { class: "mk k-fixed" }), "fixed"),
      el("span", null, el("i", { class: "mk k-sig" }), "changed signature"),
      el("span", null, el("i", { class: "mk k-new ed" }), "scenario edited (its definition changed: not the stack)"));
    const rows = [...counts.entries()].sort((a, b) => b[1].n - a[1].n).map(([index, entry]) => {
      const sig = DATA.signatures[index];
      const outcome = [...entry.outcomes.entries()].sort((a, b) => b[1] - a[1])[0][0];
      return el("tr", { "data-signature": sig[0] },
        el("td", null, el("span", { class: "lbl o" + outcome + (LIGHT.has(OUTCOMES[outcome]) ? " light" : "") }, sig[3] || sig[2])),
        el("td", { class: "num" }, String(entry.n)),
        el("td", null, sig[2]),
        el("td", { class: "mono msg" }, sig[1]));
    });
    const table = el("table", { class: "list legend-table" }, el("thead", null, el("tr", null, el("th", null, "label"), el("th", null, "cells"), el("th", null, "kind"), el("th", null, "signature (click: show its variants)"))), el("tbody", null, ...rows));
    table.addEventListener("click", (event) => {
      const row = event.target.closest("tr[data-signature]");
      if (!row) return;
      setSearch(row.dataset.signature);
    });
    legend.replaceChildren(marks, table);
  }

  function setSearch(text) {
    const search = document.getElementById("search");
    search.value = text;
    state.search = text.toLowerCase();
    showView("grid");
    refresh();
    writeHash();
  }

  // -- export of the filtered grid --------------------------------------------------------------
  function exportRows() {
    const out = [];
    for (const item of items) {
      if (item.row === undefined) continue;
      const row = DATA.rows[item.row];
      for (const c of visibleCells) {
        const code = DATA.grid[item.row][c];
        if (code < 0 || !state.outcomes.has(outcomeOf(code))) continue;
        const sig = signatureOf(code);
        const change = sinceChanges.get(item.row * nCells + c);
        out.push({
          variant: row.id, scenario: row.scenario, source: row.source, cell: DATA.cells[c].key, versions: DATA.cells[c].label,
          outcome: outcomeOf(code), unexpected: Boolean(unexpectedOf(code)), label: labelOf(code), signature: sig[1], message: sig[4],
          change: change ? change.kind + (change.edited ? " (scenario edited)" : "") : "", since_run: change ? Number(state.since) : null,
        });
      }
    }
    return out;
  }
  function toCsv(rows) {
    const columns = ["variant", "scenario", "source", "cell", "versions", "outcome", "unexpected", "label", "signature", "message", "change", "since_run"];
    // quoted, and a leading = + - @ defused so a spreadsheet never runs a record's text as a formula
    const quote = (value) => {
      let text = value === null || value === undefined ? "" : String(value);
      if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
      return '"' + text.replace(/"/g, '""') + '"';
    };
    return [columns.join(","), ...rows.map((row) => columns.map((name) => quote(row[name])).join(","))].join("\r\n") + "\r\n";
  }
  function download(name, type, text) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    const link = el("a", { href: url, download: name });
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
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
    if (state.onlyChanged) {
      if (!changedRows.has(r)) return false;
      if (!visibleCells.some((c) => sinceChanges.has(r * nCells + c))) return false;
    }
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

  // The name column fits the longest name (up to half the window), can be dragged wider, and a
  // name still too long loses its middle, not its end: the axes tell variants of a scenario apart.
  const charWidth = (() => {
    const probe = el("span", { class: "rlabel", style: "position:absolute;visibility:hidden;padding:0;border:0" }, "0".repeat(40));
    document.body.appendChild(probe);
    const width = probe.getBoundingClientRect().width / 40 || 7.2;
    probe.remove();
    return width;
  })();
  const LABEL_PAD = 22;
  function fittedWidth() {
    const longest = DATA.rows.reduce((n, row) => Math.max(n, row.id.length), 24);
    const limit = Math.max(320, Math.round(window.innerWidth * 0.5));
    return Math.min(limit, Math.ceil(longest * charWidth + LABEL_PAD));
  }
  function setLabelWidth(width) {
    // never wider than the window less one cell: the grid stays in sight
    state.labelWidth = Math.max(120, Math.min(window.innerWidth - 128, 2000, Math.round(width)));
    scroller.style.setProperty("--label-w", state.labelWidth + "px");
  }
  function shortName(id) {
    const fit = Math.floor((state.labelWidth - LABEL_PAD) / charWidth);
    if (id.length <= fit || fit < 8) return id;
    const keep = fit - 1, head = Math.ceil(keep * 0.45);
    return id.slice(0, head) + "\u2026" + id.slice(id.length - (keep - head));
  }

  function renderHead() {
    template = columnsTemplate();
    head.style.gridTemplateColumns = template;
    const width = "calc(var(--label-w) + " + visibleCells.length + " * var(--cell-w))";
    head.style.width = width;
    body.style.width = width;
    const corner = el("div", { class: "corner" }, "scenario variant \u2193 / cell \u2192",
      el("div", { class: "resizer", title: "drag to resize the names (double-click: fit them)" }));
    const heads = [corner];
    const varying = new Set();
    for (const pkg of PACKAGES) {
      if (new Set(DATA.cells.map((c) => c.versions[pkg])).size > 1) varying.add(pkg);
    }
    const names = Object.fromEntries(Object.entries(DATA.shortNames).map(([name, short]) => [short, name]));
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
    line.appendChild(el("div", { class: "rlabel", title: row.id + "\n" + row.description + "\n" + row.source, "data-id": row.id }, shortName(row.id)));
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
      const change = sinceChanges.get(r * nCells + c);
      let title = outcome + (unexpectedOf(code) ? " (unexpected)" : "") + (sig[1] ? "\n" + sig[1] : "") + (sig[4] && sig[4] !== sig[1] ? "\nas raised: " + sig[4] : "") + "\n" + DATA.cells[c].key;
      if (change) {
        cls += " chg " + KIND_CLASS[change.kind] + (change.edited ? " ed" : "");
        title += "\n" + change.kind + " since run #" + state.since + (change.edited ? " (scenario edited: its definition changed)" : "") + ": was " + OUTCOMES[change.before[0]];
      }
      line.appendChild(el("div", { class: cls, "data-cell": c, "data-change": change ? change.kind : null, title }, labelOf(code)));
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
    writeHash();
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
    writeHash();
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

  // Where the failure is discussed upstream: the scenario's links, then its claims' sources.
  function upstreamLinks(d) {
    const seen = new Set();
    const links = [];
    for (const [target, kind] of [...(d.links || []).map((l) => [l, "link"]), ...(d.claims || []).map((c) => [c.source, "claim source"])]) {
      if (!target || seen.has(target)) continue;
      seen.add(target);
      links.push(el("div", { class: "upstream-link" }, el("span", { class: "tag" }, kind), " ", safeLink(String(target)),
        /^https?:\/\//i.test(target) ? null : el("span", { class: "muted" }, " (kept in the repository; no web address recorded)")));
    }
    return links;
  }

  // Traceback: the harness's own frames folded (they are how it ran the scenario, not the bug),
  // library frames (torch, transformers, peft, ...) highlighted. The innermost frame is never
  // folded: where the error surfaced always shows.
  const LIBRARIES = /^(?:.*\/)?(torch|transformers|peft|bitsandbytes|accelerate|trl|safetensors)\//;
  const OWN = /^(?:.*\/)?harness\//;
  function tracebackTable(frames) {
    const rows = [];
    const frameRow = (f, cls) => el("tr", { class: cls }, el("td", null, f.file + ":" + (f.line ?? "")), el("td", null, f.function), el("td", null, f.code));
    for (let i = 0; i < frames.length;) {
      const last = frames.length - 1;
      if (i < last && OWN.test(frames[i].file || "")) {
        const own = [];
        while (i < last && OWN.test(frames[i].file || "")) own.push(frames[i++]);
        const toggle = el("tr", { class: "fold" }, el("td", { colspan: "3" }, el("button", { type: "button", class: "unfold" }, "\u25B8 " + own.length + " harness frame" + (own.length > 1 ? "s" : "") + " (how the scenario was run)")));
        const hidden = own.map((f) => { const node = frameRow(f, "own"); node.hidden = true; return node; });
        toggle.querySelector("button").addEventListener("click", () => { for (const node of hidden) node.hidden = !node.hidden; });
        rows.push(toggle, ...hidden);
      } else {
        const f = frames[i++];
        const lib = LIBRARIES.exec(f.file || "");
        rows.push(frameRow(f, lib ? "lib lib-" + lib[1] : "user"));
      }
    }
    return el("table", { class: "list frames" }, el("tbody", null, ...rows));
  }

  // This cell through the history the page carries: outcome and label in each run, oldest first.
  function historyStrip(r, c) {
    if (RUNS.length < 2) return null;
    let previous = null;
    const steps = RUNS.map((run) => {
      const st = stateIn(run.number, r, c);
      const change = changeKind(previous, st);
      previous = st || previous;
      if (!st) return el("span", { class: "hstep none", title: "run #" + run.number + ": no record" }, "#" + run.number + " \u2013");
      const sig = DATA.signatures[st[1]] || [];
      const name = OUTCOMES[st[0]];
      return el("span", { class: "hstep", title: "run #" + run.number + (run.created_at ? " (" + run.created_at + ")" : "") + ": " + name + (sig[1] ? "\n" + sig[1] : "") + (change ? "\n" + change.kind + (change.edited ? " (scenario edited)" : "") : "") },
        "#" + run.number + (run.current ? " (this)" : "") + " ", el("span", { class: "badge o" + st[0] + (LIGHT.has(name) ? " light" : "") + (change && change.edited ? " ed" : "") }, sig[3] || name));
    });
    return el("div", { class: "hstrip", "data-field": "history" }, ...steps);
  }

  function importMessages(env) {
    const messages = env.import_messages;
    if (!messages || (Array.isArray(messages) && !messages.length)) return null;
    const list = Array.isArray(messages) ? messages : [messages];
    return el("div", { "data-field": "import-messages" }, el("div", { class: "muted" }, "printed by the stack at import (once per environment):"),
      el("pre", { class: "block" }, list.map((m) => (typeof m === "string" ? m : formatValue(m))).join("\n")));
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
    const links = upstreamLinks(d);
    if (links.length) parts.push(section("Upstream", ...links));
    const r = Number(drawer.dataset.row), c = Number(drawer.dataset.cell);
    const change = sinceChanges.get(r * nCells + c);
    if (change) {
      parts.push(section("Changed since run #" + state.since,
        el("div", { "data-field": "change" }, el("b", null, change.kind), " (was " + OUTCOMES[change.before[0]] + ")",
          change.edited ? el("span", { class: "tag edited" }, "scenario edited: its definition differs between the two runs, so the stack may not be the cause") : null)));
    }
    if (d.signature && d.outcome !== "passed") {
      const code = DATA.grid[r][c];
      parts.push(section("Signature", el("div", null, el("span", { class: "tag" }, "label: " + labelOf(code))), el("div", { class: "mono msg", "data-field": "signature" }, d.signature.text)));
    }
    if (d.reason) parts.push(section("Reason", el("div", { class: "msg", "data-field": "reason" }, d.reason)));
    const error = d.error;
    if (error) {
      const causes = (error.causes || []).map((cause) => el("div", { class: "cause" },
        el("div", { class: "muted" }, cause.relation === "context" ? "during handling of:" : "caused by:"),
        el("div", { class: "msg" }, el("b", null, cause.type + ": "), cause.message)));
      parts.push(section("Error",
        el("pre", { class: "block", "data-field": "error" }, error.type + ": " + error.message),
        causes.length ? el("div", null, ...causes) : null));
      if ((error.traceback || []).length) parts.push(section("Traceback (innermost last)", tracebackTable(error.traceback)));
    }
    if (unexpected) {
      parts.push(section("Expected here",
        kvTable(expectation.expected, ["when"]),
        el("ul", null, ...(expectation.mismatches || []).map((m) => el("li", { class: "msg" }, m)))));
    }
    const strip = historyStrip(r, c);
    if (strip) parts.push(section("History of this cell", strip));
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
    parts.push(section("Environment", kvTable(env, ["executable", "import_messages"]), importMessages(env),
      lock ? el("details", null, el("summary", null, "lock: " + Object.keys(cell.lock).length + " distributions"), el("pre", { class: "block" }, lock)) : el("div", { class: "muted" }, "no lock recorded (the cell was never built)")));
    const source = el("div", null, el("code", null, d.source + ":" + d.line), " · run ", el("code", null, d.run_id || ""), " · ", d.started_at || "", d.superseded ? " · " + d.superseded + " older record(s) of this variant in this run" : "");
    parts.push(section("Scenario", source, Object.keys(d.axes || {}).length ? kvTable(d.axes) : null));
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
    if (link.dataset.search !== undefined) { setSearch(link.dataset.search); return; }
    openDetails(Number(link.dataset.row), Number(link.dataset.cell));
  });
  // dragging the name column's edge
  head.addEventListener("pointerdown", (event) => {
    if (!event.target.closest(".resizer")) return;
    event.preventDefault();
    const startX = event.clientX, startWidth = state.labelWidth;
    let frame = 0;
    const move = (e) => {
      setLabelWidth(startWidth + e.clientX - startX);
      state.userWidth = true;
      if (!frame) frame = requestAnimationFrame(() => { frame = 0; renderWindow(true); });
    };
    const up = () => { document.removeEventListener("pointermove", move); document.removeEventListener("pointerup", up); writeHash(); };
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", up);
  });
  head.addEventListener("dblclick", (event) => {
    if (!event.target.closest(".resizer")) return;
    state.userWidth = false;
    setLabelWidth(fittedWidth());
    renderWindow(true);
    writeHash();
  });

  function showView(name) {
    if (!document.getElementById("view-" + name)) name = "grid";
    state.view = name;
    for (const button of document.querySelectorAll(".tabs button")) button.classList.toggle("active", button.dataset.view === name);
    for (const view of document.querySelectorAll(".view")) view.classList.toggle("active", view.id === "view-" + name);
    if (name === "grid") renderWindow(true);
    if (name === "changes") renderCompare();
    writeHash();
  }
  for (const button of document.querySelectorAll(".tabs button")) button.addEventListener("click", () => showView(button.dataset.view));

  // -- compare any two runs (Changes tab) -------------------------------------------------------
  const compareFrom = document.getElementById("compare-from");
  const compareTo = document.getElementById("compare-to");
  const MAX_COMPARED = 500;
  function setUpCompare() {
    if (RUNS.length < 2) return;
    document.getElementById("compare").hidden = false;
    for (const select of [compareFrom, compareTo]) {
      for (const run of RUNS) select.appendChild(el("option", { value: String(run.number) }, "#" + run.number + (run.current ? " (this run)" : run.label ? " " + run.label : "")));
      select.addEventListener("change", () => { renderCompare(); writeHash(); });
    }
    compareFrom.value = String(PREVIOUS_RUN !== undefined ? PREVIOUS_RUN : RUNS[0].number);
    compareTo.value = String(CURRENT_RUN);
  }
  function stateBadge(st) {
    if (!st) return el("span", { class: "muted" }, "no record");
    const sig = DATA.signatures[st[1]] || [];
    const name = OUTCOMES[st[0]];
    return el("span", null, el("span", { class: "badge o" + st[0] + (LIGHT.has(name) ? " light" : "") }, name), " ", el("span", { class: "sig" }, sig[3] ? sig[3] + " \u2014 " + sig[1] : ""));
  }
  function renderCompare() {
    if (RUNS.length < 2) return;
    const from = compareFrom.value, to = compareTo.value;
    const found = [...changesBetween(from, to).entries()];
    const order = { "new failure": 0, "newly silent": 1, "fixed": 2, "changed signature": 3 };
    found.sort((a, b) => order[a[1].kind] - order[b[1].kind] || a[0] - b[0]);
    const counts = {};
    for (const [, change] of found) counts[change.kind] = (counts[change.kind] || 0) + 1;
    const edited = found.filter(([, change]) => change.edited).length;
    document.getElementById("compare-count").textContent = found.length + " changed: " + Object.entries(counts).map(([k, n]) => n + " " + k).join(", ") + (edited ? " \u00b7 " + edited + " on an edited scenario" : "");
    const rows = found.slice(0, MAX_COMPARED).map(([key, change]) => {
      const r = Math.floor(key / nCells), c = key % nCells;
      const after = String(to) === String(CURRENT_RUN)
        ? el("a", { href: "#", "data-row": r, "data-cell": c, title: "open its details" }, stateBadge(change.after)) : stateBadge(change.after);
      return el("tr", { class: "compared" },
        el("td", { class: "kind-" + change.kind.replace(/ /g, "-") }, el("b", null, change.kind), " ", change.edited ? el("span", { class: "tag edited" }, "scenario edited") : null),
        el("td", { class: "mono" }, DATA.rows[r].id), el("td", { class: "mono" }, DATA.cells[c].key), el("td", null, stateBadge(change.before)), el("td", null, after));
    });
    document.querySelector("#compare-table tbody").replaceChildren(...rows);
  }

  // -- permalinks: what is shown lives in the URL's hash ----------------------------------------
  let applying = false;
  let lastHash = "";
  function writeHash() {
    if (applying) return;
    const p = new URLSearchParams();
    if (state.view !== "grid") p.set("view", state.view);
    const query = document.getElementById("search").value.trim();
    if (query) p.set("q", query);
    const hidden = OUTCOMES.filter((o) => totals[o] && !state.outcomes.has(o));
    if (hidden.length) p.set("hide", hidden.join(","));
    if (state.groupBy !== DEFAULT_GROUP) p.set("group", state.groupBy || "none");
    for (const name of DIMENSIONS) if (state.dims[name] !== "") p.set("d." + name, DATA.dimensions[name][Number(state.dims[name])]);
    for (const [pkg, value] of Object.entries(state.versions)) if (value) p.set("v." + pkg, value);
    if (state.onlyUnexpected) p.set("unexpected", "1");
    if (state.onlyDiffering) p.set("differs", "1");
    if (state.since !== (PREVIOUS_RUN === undefined ? "" : String(PREVIOUS_RUN))) p.set("since", state.since || "none");
    if (state.onlyChanged) p.set("changed", "1");
    if (!document.getElementById("legend").hidden) p.set("legend", "1");
    if (state.userWidth) p.set("w", String(state.labelWidth));
    if (selected) { p.set("row", DATA.rows[selected[0]].id); p.set("cell", DATA.cells[selected[1]].key); }
    if (RUNS.length > 1 && state.view === "changes") { p.set("from", compareFrom.value); p.set("to", compareTo.value); }
    const hash = p.toString();
    lastHash = hash;
    if (location.hash.slice(1) !== hash) history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
  }

  function applyHash() {
    const raw = location.hash.slice(1);
    if (raw === lastHash && raw) return;
    applying = true;
    try {
      // old links (#signatures) name a view
      const p = raw.includes("=") ? new URLSearchParams(raw) : new URLSearchParams(raw ? "view=" + raw : "");
      const search = document.getElementById("search");
      search.value = p.get("q") || "";
      state.search = search.value.trim().toLowerCase();
      const hidden = new Set((p.get("hide") || "").split(",").filter(Boolean));
      state.outcomes = new Set(OUTCOMES.filter((o) => !hidden.has(o)));
      for (const box of document.querySelectorAll("#outcome-filters input")) {
        box.checked = !hidden.has(box.dataset.outcome);
        box.parentNode.classList.toggle("off", !box.checked);
      }
      const group = p.get("group");
      state.groupBy = group === null ? DEFAULT_GROUP : group === "none" ? "" : (DIMENSIONS.includes(group) ? group : DEFAULT_GROUP);
      document.getElementById("group-by").value = state.groupBy;
      for (const name of DIMENSIONS) {
        const index = DATA.dimensions[name].indexOf(p.get("d." + name));
        state.dims[name] = index < 0 ? "" : String(index);
        const select = document.querySelector("select[data-dimension='" + name + "']");
        if (select) select.value = state.dims[name];
      }
      state.versions = {};
      for (const select of document.querySelectorAll("select[data-package]")) {
        const value = p.get("v." + select.dataset.package) || "";
        select.value = value;
        state.versions[select.dataset.package] = select.value;
      }
      state.onlyUnexpected = document.getElementById("only-unexpected").checked = p.get("unexpected") === "1";
      state.onlyDiffering = document.getElementById("only-differing").checked = p.get("differs") === "1";
      const since = p.get("since");
      const runs = new Set(RUNS.filter((run) => !run.current).map((run) => String(run.number)));
      state.since = since === "none" ? "" : since !== null && runs.has(since) ? since : (PREVIOUS_RUN === undefined ? "" : String(PREVIOUS_RUN));
      document.getElementById("since").value = state.since;
      state.onlyChanged = document.getElementById("only-changed").checked = p.get("changed") === "1" && state.since !== "";
      const width = Number(p.get("w"));
      state.userWidth = width > 0;
      setLabelWidth(state.userWidth ? width : fittedWidth());
      const legend = document.getElementById("legend");
      legend.hidden = p.get("legend") !== "1";
      if (!legend.hidden && !legend.firstChild) buildLegend(legend);
      if (RUNS.length > 1) {
        for (const [select, name] of [[compareFrom, "from"], [compareTo, "to"]]) {
          const value = p.get(name);
          if (value !== null && [...select.options].some((o) => o.value === value)) select.value = value;
        }
      }
      computeSince();
      refresh();
      showView(p.get("view") || "grid");
      const r = DATA.rows.findIndex((row) => row.id === p.get("row"));
      const c = DATA.cells.findIndex((cell) => cell.key === p.get("cell"));
      if (r >= 0 && c >= 0 && DATA.grid[r][c] >= 0) {
        revealRow(r, c);
        openDetails(r, c);
      } else if (selected) {
        drawer.hidden = true;
        selected = null;
        renderWindow(true);
      }
    } finally {
      applying = false;
    }
    writeHash();
  }

  // Scrolls the grid so that a row (and its cell) is in view, a little below the top.
  function revealRow(r, c) {
    const index = items.findIndex((item) => item.row === r);
    if (index < 0) return;
    scroller.scrollTop = Math.max(0, index * ROW_H - scroller.clientHeight / 3);
    const column = visibleCells.indexOf(c);
    const cellWidth = parseFloat(getComputedStyle(scroller).getPropertyValue("--cell-w")) || 92;
    if (column >= 0) scroller.scrollLeft = Math.max(0, column * cellWidth - (scroller.clientWidth - state.labelWidth) / 2);
    renderWindow(true);
  }
  window.addEventListener("hashchange", applyHash);

  buildToolbar();
  setUpCompare();
  setLabelWidth(fittedWidth());
  computeSince();
  if (location.hash.length > 1) applyHash(); else refresh();
  const ms = performance.now() - t0;
  document.documentElement.dataset.ready = ms.toFixed(1);
  // readyAt / paintedAt: milliseconds since navigation start (grid built / first frame with it
  // drawn), what bench/report_render.py reports
  window.FT_REPORT = { openDetails, refresh, state, exportRows, renderMs: ms, readyAt: performance.now() };
  requestAnimationFrame(() => setTimeout(() => {
    window.FT_REPORT.paintedAt = performance.now();
    document.documentElement.dataset.painted = window.FT_REPORT.paintedAt.toFixed(1);
  }));
})();
