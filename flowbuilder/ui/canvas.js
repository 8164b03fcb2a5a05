// flowbuilder canvas: draws a call flow as SVG and turns gestures into messages for Python.
//
// Python owns the flow. The synced traits carry it as data (nodes, edges, notes, entry, issues,
// selection, highlight, kinds, geometry); this module draws them and sends user actions with
// model.send({action: ...}). Even a click's selection is an action, never a model.set: ipywidgets
// holds back a trait write while the kernel is busy but sends custom messages at once, so a
// written selection could reach Python after the "add" that followed it and undo that add's
// selection. Each click is numbered; a selection from Python older than the page's last click
// is not drawn (the newer one is on its way). A drag moves nodes here, frame by frame, and sends only
// the final positions; redrawing is keyed by id, so an update touches only what changed.
//
// The canvas also owns the keyboard and mouse of the whole builder it sits in (toolbar,
// inspector, problems, panels): no key reaches JupyterLab's notebook commands while the builder
// has the focus, Escape or a click outside hands the focus back.
// No imports, no network: everything the page needs is in this file and canvas.css.

const NS = "http://www.w3.org/2000/svg";
// Node geometry comes from Python (flowbuilder.layout.GEOMETRY, the "geometry" trait), the
// same numbers auto-layout and the SVG export use; these are only used until it arrives.
let NODE_W = 180, HEAD_H = 52, ROW_H = 20, PAD = 6, IN_Y = 26;
function setGeometry(g) {
  if (!g || !g.width) return;
  NODE_W = g.width; HEAD_H = g.head; ROW_H = g.row; PAD = g.padding; IN_Y = g.in_port_y;
}
const CLICK_SLOP = 4; // px a press may travel and still count as a click
const ZOOM_MIN = 0.05;
const ZOOM_MAX = 3;
const READABLE_ZOOM = 0.6; // a first view never starts smaller: the minimap shows the rest
const LABELS_MIN_ZOOM = 0.45; // edge labels are hidden below this zoom (unreadable anyway)
const NOTE_W = 200;
const CLIPBOARD_TAG = "flowbuilder/fragment";
const EDITABLE = "input, textarea, select, [contenteditable='true']";

function el(tag, attrs = {}, parent = null, ns = NS) {
  const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  if (parent) parent.appendChild(node);
  return node;
}

function html(tag, attrs = {}, parent = null) {
  return el(tag, attrs, parent, null);
}

function nodeHeight(n) {
  return HEAD_H + n.outcomes.length * ROW_H + (n.outcomes.length ? PAD : 0);
}

function portY(i) {
  return HEAD_H + i * ROW_H + ROW_H / 2;
}

function clip(text, chars) {
  return text.length <= chars ? text : text.slice(0, chars - 1) + "…";
}

function curve(x1, y1, x2, y2) {
  const back = x2 < x1 - 10; // a loop back to an earlier node goes round, below or above
  const dx = back ? 90 : Math.max(24, (x2 - x1) / 2);
  const dy = back ? Math.max(70, Math.abs(y2 - y1) / 2) * (y2 >= y1 ? 1 : -1) : 0;
  return [x1, y1, x1 + dx, y1 + dy, x2 - dx, y2 + dy, x2, y2];
}

function pathOf(c) {
  return `M${c[0]},${c[1]} C${c[2]},${c[3]} ${c[4]},${c[5]} ${c[6]},${c[7]}`;
}

function pointAt(c, t) { // the curve at t, 0 (its start) to 1 (its end)
  const u = 1 - t, a = u * u * u, b = 3 * u * u * t, d = 3 * u * t * t, e = t * t * t;
  return [a * c[0] + b * c[2] + d * c[4] + e * c[6], a * c[1] + b * c[3] + d * c[5] + e * c[7]];
}

// Where along its edge a label goes: the middle, else the nearest place that no box covers
// (labels are drawn under the boxes).
const LABEL_SPOTS = [0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78];
const LABEL_CHAR_W = 6, LABEL_H = 12;

function isEditable(target) {
  return !!(target && target.closest && target.closest(EDITABLE));
}

// How well a kind answers a search: 0 its title or name starts so, 1 they contain it, 2 its
// category does, 3 its description does; null when it does not match at all.
function rank(kind, query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return 0;
  const names = `${kind.title} ${kind.name}`.toLowerCase();
  const all = `${names} ${kind.category} ${kind.description}`.toLowerCase();
  if (!words.every((w) => all.includes(w))) return null;
  if (names.split(/[\s_]+/).some((part) => part.startsWith(words[0])) && words.every((w) => names.includes(w))) return 0;
  if (words.every((w) => names.includes(w))) return 1;
  if (words.every((w) => `${names} ${kind.category}`.toLowerCase().includes(w))) return 2;
  return 3;
}

// The kinds to list for *query*: all by category when empty, else the matches best first.
function ranked(kinds, query) {
  if (!query.trim()) return kinds;
  return kinds.map((k) => [rank(k, query), k]).filter(([r]) => r !== null)
    .sort((a, b) => a[0] - b[0] || a[1].title.localeCompare(b[1].title)).map(([, k]) => k);
}

// One clipboard for every builder of the page (the system clipboard is used too, when the
// browser lets us): copy in one notebook, paste in another.
const pageClipboard = globalThis.__flowbuilderClipboard || (globalThis.__flowbuilderClipboard = { text: "" });

function render({ model, el: host }) {
  const t0 = performance.now();
  setGeometry(model.get("geometry"));
  const uid = Math.random().toString(36).slice(2, 9);
  const stats = { renders: 0, nodeBuilds: 0, mousemoves: 0, dragFrames: 0 };
  const cleanups = [];
  const listen = (target, type, fn, opts) => {
    target.addEventListener(type, fn, opts);
    cleanups.push(() => target.removeEventListener(type, fn, opts));
  };

  // -- DOM skeleton ---------------------------------------------------------------------------
  const root = html("div", { class: "fb-canvas", tabindex: "0" }, host);
  // JupyterLab: keys pressed in here are ours (Delete, Ctrl+Z), not notebook shortcuts, and
  // right-click opens our menu, not the cell's
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.setAttribute("data-jp-suppress-context-menu", "true");
  const palette = html("div", { class: "fb-palette" }, root);
  const paletteHead = html("div", { class: "fb-palette-head" }, palette);
  const search = html("input", {
    class: "fb-palette-search", type: "search", placeholder: "Search nodes…",
    "aria-label": "Search node kinds (Enter adds the first)", spellcheck: "false",
  }, paletteHead);
  const collapse = html("button", { class: "fb-btn fb-palette-toggle", type: "button", title: "Hide the palette" }, paletteHead);
  const paletteList = html("div", { class: "fb-palette-list" }, palette);
  const stage = html("div", { class: "fb-stage" }, root);
  const svg = el("svg", { class: "fb-svg" }, stage);
  const defs = el("defs", {}, svg);
  for (const name of ["plain", "path", "selected"]) {
    const m = el("marker", {
      id: `fb-arrow-${name}-${uid}`, class: `fb-arrow fb-arrow-${name}`, viewBox: "0 0 10 10",
      refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse",
    }, defs);
    el("path", { d: "M0,0 L10,5 L0,10 z" }, m);
  }
  const viewport = el("g", { class: "fb-viewport" }, svg);
  const noteLayer = el("g", { class: "fb-notes" }, viewport);
  const edgeLayer = el("g", { class: "fb-edges" }, viewport);
  const labelLayer = el("g", { class: "fb-edge-labels" }, viewport); // under the boxes
  const nodeLayer = el("g", { class: "fb-nodes" }, viewport);
  const wire = el("path", { class: "fb-wire", d: "" }, viewport);
  // While nodes are dragged they are lifted out of the drawing into a layer of their own, and
  // the edges that touch them into another: each frame moves the first as a whole (a compositor
  // transform: nothing repainted) and redraws only those edges, instead of repainting and
  // re-layering the whole flow, which took most of a frame on a 200-node flow.
  const liftEdges = el("svg", { class: "fb-lift", "aria-hidden": "true" }, stage);
  const liftEdgeView = el("g", {}, liftEdges);
  const liftEdgeLayer = el("g", { class: "fb-edges" }, liftEdgeView);
  const liftLabelLayer = el("g", { class: "fb-edge-labels" }, liftEdgeView);
  const liftNodes = el("svg", { class: "fb-lift fb-lift-nodes", "aria-hidden": "true" }, stage);
  const liftNodeView = el("g", {}, liftNodes);
  const liftNodeLayer = el("g", { class: "fb-nodes" }, liftNodeView);
  let lifted = null; // {nodes: Set of ids, edges: [edge views]} while a drag holds them
  const band = html("div", { class: "fb-band" }, stage);
  const toolbar = html("div", { class: "fb-toolbar" }, stage);
  const zoomLabel = html("span", { class: "fb-zoom" }, toolbar);
  const buttons = {};
  for (const [name, text, tip] of [
    ["zoom-out", "−", "Zoom out (Ctrl+wheel, or −)"], ["zoom-in", "+", "Zoom in (Ctrl+wheel, or +)"],
    ["fit", "Fit", "Fit the flow in view (F)"], ["minimap", "Map", "Show or hide the minimap"],
  ]) {
    buttons[name] = html("button", { class: `fb-btn fb-btn-${name}`, title: tip, type: "button" }, toolbar);
    buttons[name].textContent = text;
  }
  const minimap = html("canvas", { class: "fb-minimap", width: 180, height: 120, title: "Click or drag to move the view" }, stage);
  const hint = html("div", { class: "fb-hint" }, stage);
  hint.textContent = "Drag a port ● onto a node to connect · drag on empty space selects · Space+drag or right-drag pans · Ctrl+wheel zooms · right-click: more";
  const notice = html("div", { class: "fb-notice", role: "status" }, stage);
  const banner = html("div", { class: "fb-static-banner" }, stage);
  banner.textContent = "This is the picture saved with the notebook. Run the cell to edit the flow.";
  const menu = html("div", { class: "fb-menu", role: "menu" }, stage);
  const quick = html("div", { class: "fb-quick" }, stage);
  const quickInput = html("input", { class: "fb-quick-search", type: "search", placeholder: "Add a node…", spellcheck: "false" }, quick);
  const quickList = html("div", { class: "fb-quick-list" }, quick);
  const editor = html("textarea", { class: "fb-inline-editor", rows: 1, spellcheck: "false" }, stage);

  // -- view state -----------------------------------------------------------------------------
  const view = { x: 20, y: 20, k: 1 };
  let autoFit = true; // until the user pans or zooms, the view follows resizes and data
  let fitted = false;
  const nodeViews = new Map(); // id -> {data, sig, g, x, y}
  const edgeViews = new Map(); // "source\u0000outcome" -> {g, path, hit, label, source, outcome, target}
  const noteViews = new Map(); // id -> {data, g, box, body, x, y, h}
  const incident = new Map(); // node id -> Set of edge keys
  let sel = readSelection();
  let selSeq = model.get("selection_seq") || 0; // the page's last click (see the header)
  let gesture = null; // the drag in progress: nodes, wire, pan, band, palette, minimap
  let spaceDown = false;
  let suppressMenuUntil = 0;
  let live = false; // the kernel answered: this is not a picture restored from a saved notebook

  function readSelection() {
    const s = model.get("selection") || {};
    return { nodes: new Set(s.nodes || []), notes: new Set(s.notes || []), edge: s.edge || null };
  }

  function send(msg) {
    try { model.send(msg); } catch (err) { showStatic(); }
  }
  // The counters tests and the benchmark read: written once a frame at most (an attribute
  // written on every mouse move made the browser restyle the canvas that often).
  let statsQueued = false;
  const publishStats = () => {
    if (statsQueued) return;
    statsQueued = true;
    requestAnimationFrame(() => { statsQueued = false; root.dataset.stats = JSON.stringify(stats); });
  };

  function applyView() {
    viewport.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`);
    zoomLabel.textContent = `${Math.round(view.k * 100)}%`;
    svg.classList.toggle("fb-far", view.k < LABELS_MIN_ZOOM);
    if (lifted) liftFollowsView();
    if (gesture && gesture.kind === "nodes" && gesture.moved) dragNodesTo(gesture.lastX, gesture.lastY);
    root.dataset.zoom = view.k.toFixed(3);
    scheduleMinimap();
  }

  function toWorld(clientX, clientY) {
    const r = svg.getBoundingClientRect();
    return { x: (clientX - r.left - view.x) / view.k, y: (clientY - r.top - view.y) / view.k };
  }

  function bounds() {
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const v of nodeViews.values()) {
      x0 = Math.min(x0, v.x); y0 = Math.min(y0, v.y - 18);
      x1 = Math.max(x1, v.x + NODE_W); y1 = Math.max(y1, v.y + nodeHeight(v.data));
    }
    for (const v of noteViews.values()) {
      x0 = Math.min(x0, v.x); y0 = Math.min(y0, v.y);
      x1 = Math.max(x1, v.x + NOTE_W); y1 = Math.max(y1, v.y + v.h);
    }
    return x0 < Infinity ? { x0, y0, x1, y1 } : null;
  }

  // Fit the whole flow; a first view (readable=true) does not go below READABLE_ZOOM and then
  // starts at the entry's side instead.
  function fit(readable = false) {
    const r = svg.getBoundingClientRect();
    const b = bounds();
    if (!r.width || !r.height) return false;
    if (!b) { Object.assign(view, { x: 20, y: 20, k: 1 }); applyView(); return true; }
    const pad = 30;
    // the minimap sits over the bottom right corner: keep the flow above it
    const below = root.classList.contains("fb-minimap-off") ? pad : minimap.offsetHeight + 16;
    let k = Math.min((r.width - 2 * pad) / (b.x1 - b.x0), (r.height - pad - below) / (b.y1 - b.y0), 1);
    k = Math.max(ZOOM_MIN, Math.min(ZOOM_MAX, k));
    if (readable && k < READABLE_ZOOM) {
      view.k = READABLE_ZOOM;
      const entry = nodeViews.get(model.get("entry"));
      const ey = entry ? entry.y + nodeHeight(entry.data) / 2 : (b.y0 + b.y1) / 2;
      view.x = pad + 40 - b.x0 * view.k;
      view.y = r.height / 2 - ey * view.k;
    } else {
      view.k = k;
      view.x = (r.width - (b.x1 - b.x0) * view.k) / 2 - b.x0 * view.k;
      view.y = pad + (r.height - pad - below - (b.y1 - b.y0) * view.k) / 2 - b.y0 * view.k;
    }
    applyView();
    return true;
  }

  // While the view follows the data (autoFit), an edit refits it only when the flow grew out of
  // sight (nodes added from code): deleting, renaming or editing a node never moves the view.
  function grewOutOfView(before) {
    const r = svg.getBoundingClientRect();
    const b = bounds();
    if (!b || !r.width) return false;
    if (before && b.x0 >= before.x0 && b.y0 >= before.y0 && b.x1 <= before.x1 && b.y1 <= before.y1) return false;
    return !(b.x0 * view.k + view.x >= 0 && b.x1 * view.k + view.x <= r.width &&
      b.y0 * view.k + view.y >= 0 && b.y1 * view.k + view.y <= r.height);
  }

  function zoomAt(factor, cx, cy) {
    const k = Math.max(ZOOM_MIN, Math.min(ZOOM_MAX, view.k * factor));
    view.x = cx - ((cx - view.x) * k) / view.k;
    view.y = cy - ((cy - view.y) * k) / view.k;
    view.k = k;
    autoFit = false;
    applyView();
  }

  function centerOn(id) {
    const v = nodeViews.get(id);
    const r = svg.getBoundingClientRect();
    if (!v || !r.width) return;
    view.x = r.width / 2 - (v.x + NODE_W / 2) * view.k;
    view.y = r.height / 2 - (v.y + nodeHeight(v.data) / 2) * view.k;
    autoFit = false;
    applyView();
  }

  function keepInView(id) { // pan the least needed to show a node whole
    const v = nodeViews.get(id);
    const r = svg.getBoundingClientRect();
    if (!v || !r.width) return;
    const left = view.x + v.x * view.k, top = view.y + v.y * view.k;
    const right = left + NODE_W * view.k, bottom = top + nodeHeight(v.data) * view.k;
    let dx = 0, dy = 0;
    if (right > r.width - 10) dx = r.width - 10 - right;
    if (left + dx < 10) dx = 10 - left;
    if (bottom > r.height - 10) dy = r.height - 10 - bottom;
    if (top + dy < 10) dy = 10 - top;
    if (dx || dy) { view.x += dx; view.y += dy; applyView(); }
  }

  function viewCenter() {
    const r = svg.getBoundingClientRect();
    return toWorld(r.left + r.width / 2, r.top + r.height / 2);
  }

  let noticeTimer = null;
  function showNotice(text, level) {
    notice.textContent = text;
    notice.className = `fb-notice fb-notice-${level || "info"} fb-show`;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => notice.classList.remove("fb-show"), level === "error" ? 8000 : 4000);
  }

  function showStatic() {
    if (live) return;
    root.classList.add("fb-static");
  }

  // -- palette --------------------------------------------------------------------------------
  const NOTE_KIND = { name: "note", title: "Note", icon: "✎", color: "#d4b106", category: "Canvas", description: "A note on the canvas: not part of the call flow." };
  function paletteKinds() {
    return [...(model.get("kinds") || []), NOTE_KIND];
  }

  function drawPalette() {
    paletteList.replaceChildren();
    const query = search.value.trim();
    let category = null;
    let shown = 0;
    for (const k of ranked(paletteKinds(), query)) {
      if (!query && k.category !== category) {
        category = k.category;
        html("div", { class: "fb-palette-cat" }, paletteList).textContent = category;
      }
      const item = html("div", {
        class: "fb-palette-item", "data-kind": k.name, title: `${k.title}: ${k.description}`, role: "button",
      }, paletteList);
      item.style.setProperty("--fb-kind", k.color);
      html("span", { class: "fb-palette-icon" }, item).textContent = k.icon;
      html("span", { class: "fb-palette-name" }, item).textContent = k.title;
      if (shown === 0 && query) item.classList.add("fb-first");
      shown++;
    }
    if (!shown) html("div", { class: "fb-palette-empty" }, paletteList).textContent = `No node kind matches “${query}”.`;
  }

  function setCollapsed(on, byUser) {
    root.classList.toggle("fb-palette-collapsed", on);
    collapse.textContent = on ? "»" : "«";
    collapse.title = on ? "Show the palette" : "Hide the palette";
    if (byUser) root.dataset.paletteByUser = "1";
  }

  // Add a node of *kind*: at a world point, or (none) where Python finds room near the selection
  // or the middle of the view. A wire dropped on empty canvas connects it (*from*).
  function addKind(kind, at, from) {
    if (kind === "note") {
      const p = at || viewCenter();
      send({ action: "note_add", x: Math.round(p.x), y: Math.round(p.y), text: "" });
      return;
    }
    const msg = { action: "add", kind };
    if (at) { msg.x = Math.round(at.x); msg.y = Math.round(at.y); }
    else {
      const c = viewCenter();
      msg.near = [Math.round(c.x - NODE_W / 2), Math.round(c.y - HEAD_H / 2)];
    }
    if (from) msg.connect = from;
    send(msg);
  }

  // -- nodes, edges, notes --------------------------------------------------------------------
  function buildNode(v) {
    const n = v.data;
    const g = v.g;
    g.replaceChildren();
    stats.nodeBuilds++;
    const h = nodeHeight(n);
    el("rect", { class: "fb-node-box", width: NODE_W, height: h, rx: 7 }, g);
    const strip = el("rect", { class: "fb-node-strip", width: 7, height: h, rx: 3 }, g);
    strip.style.fill = n.color;
    el("text", { class: "fb-node-icon", x: 24, y: 24, "text-anchor": "middle" }, g).textContent = n.icon;
    const chars = Math.floor((NODE_W - 50) / 7.6);
    el("text", { class: "fb-node-label", x: 40, y: 22 }, g).textContent = clip(n.label || n.id, chars);
    el("text", { class: "fb-node-sub", x: 40, y: 40 }, g).textContent =
      clip(n.summary ? n.summary : `${n.id} · ${n.title}`, Math.floor((NODE_W - 50) / 5.6));
    el("circle", { class: "fb-port-in", cx: 0, cy: IN_Y, r: 5 }, g);
    if (n.outcomes.length) {
      let rules = "";
      n.outcomes.forEach((_, i) => { rules += `M10,${HEAD_H + i * ROW_H}H${NODE_W}`; });
      el("path", { class: "fb-port-rule", d: rules }, g);
    }
    n.outcomes.forEach((outcome, i) => {
      const y = portY(i);
      el("text", { class: "fb-port-label", x: NODE_W - 12, y: y + 4, "text-anchor": "end" }, g).textContent = outcome;
      el("circle", {
        class: "fb-port-out", cx: NODE_W, cy: y, r: 6, "data-outcome": outcome, "data-node": n.id,
      }, g);
    });
    v.badge = null;
    v.entryTag = null;
  }

  function tooltip(v) {
    const n = v.data;
    const issue = (model.get("issues") || {})[n.id];
    const extra = issue ? "\n" + issue.messages.join("\n") : "";
    return `${n.label || n.id} (${n.id}, ${n.title})${n.summary ? "\n" + n.summary : ""}${extra}`;
  }

  function placeNode(v) {
    v.g.setAttribute("transform", `translate(${v.x},${v.y})`);
  }

  // The lifted layers show the drawing's view: its pan, its zoom and which labels it hides.
  function liftFollowsView() {
    const transform = viewport.getAttribute("transform");
    const far = svg.classList.contains("fb-far");
    for (const [layer, g] of [[liftEdges, liftEdgeView], [liftNodes, liftNodeView]]) {
      g.setAttribute("transform", transform);
      layer.classList.toggle("fb-far", far);
    }
  }

  function lift(ids) {
    liftFollowsView();
    lifted = { nodes: new Set(), edges: [] };
    const touched = new Set();
    for (const id of ids) {
      const v = nodeViews.get(id);
      if (!v) continue;
      liftNodeLayer.appendChild(v.g);
      lifted.nodes.add(id);
      for (const key of incident.get(id) || []) touched.add(key);
    }
    for (const key of touched) {
      const e = edgeViews.get(key);
      if (!e) continue;
      liftEdgeLayer.appendChild(e.g);
      if (e.label) liftLabelLayer.appendChild(e.label);
      lifted.edges.push(e);
    }
    root.classList.add("fb-lifted");
  }

  // Back into the drawing, at their places (what the drag changed meanwhile stays changed).
  function settle() {
    if (!lifted) return;
    for (const id of lifted.nodes) {
      const v = nodeViews.get(id);
      if (v && v.g.parentNode === liftNodeLayer) { placeNode(v); nodeLayer.appendChild(v.g); }
    }
    for (const e of lifted.edges) {
      if (e.g.parentNode === liftEdgeLayer) edgeLayer.appendChild(e.g);
      if (e.label && e.label.parentNode === liftLabelLayer) labelLayer.appendChild(e.label);
    }
    liftNodeLayer.replaceChildren();
    liftEdgeLayer.replaceChildren();
    liftLabelLayer.replaceChildren();
    liftNodes.style.transform = "";
    lifted = null;
    root.classList.remove("fb-lifted");
  }

  function edgeCurve(e) {
    const s = nodeViews.get(e.source), t = nodeViews.get(e.target);
    if (!s || !t) return null;
    const i = Math.max(0, s.data.outcomes.indexOf(e.outcome));
    return curve(s.x + NODE_W + 6, s.y + portY(i), t.x - 6, t.y + IN_Y); // outside the ports
  }

  function routeEdge(e) {
    const c = edgeCurve(e);
    if (!c) return;
    const d = pathOf(c);
    e.path.setAttribute("d", d);
    e.hit.setAttribute("d", d);
    if (e.label) {
      const [mx, my] = labelSpot(c, e.label.textContent.length * LABEL_CHAR_W);
      e.label.setAttribute("x", mx.toFixed(1));
      e.label.setAttribute("y", (my + 4).toFixed(1));
    }
  }

  function labelSpot(c, width) {
    const free = ([x, y]) => {
      for (const v of nodeViews.values()) {
        if (x + width / 2 > v.x && x - width / 2 < v.x + NODE_W &&
            y + LABEL_H / 2 > v.y && y - LABEL_H / 2 < v.y + nodeHeight(v.data)) return false;
      }
      return true;
    };
    for (const t of LABEL_SPOTS) {
      const p = pointAt(c, t);
      if (free(p)) return p;
    }
    return pointAt(c, 0.5);
  }

  function link(id, key) {
    if (!incident.has(id)) incident.set(id, new Set());
    incident.get(id).add(key);
  }

  function placeNote(v) {
    v.g.setAttribute("transform", `translate(${v.x},${v.y})`);
  }

  function buildNote(v) {
    const n = v.data;
    v.g.replaceChildren();
    v.box = el("rect", { class: "fb-note-box", width: NOTE_W, height: 60, rx: 4 }, v.g);
    const fo = el("foreignObject", { width: NOTE_W, height: 60 }, v.g);
    const body = html("div", { class: "fb-note-text" }, fo);
    body.textContent = n.text || "Double-click to write a note";
    body.classList.toggle("fb-note-empty", !n.text);
    v.fo = fo;
    v.body = body;
    v.h = 60;
    requestAnimationFrame(() => { // size the note to its text once it is laid out
      const h = Math.max(40, Math.ceil(body.scrollHeight) + 4);
      v.h = h;
      v.box.setAttribute("height", h);
      fo.setAttribute("height", h);
    });
  }

  // Keyed update: only nodes whose data changed are rebuilt; positions just move.
  function draw() {
    stats.renders++;
    setGeometry(model.get("geometry"));
    const nodes = model.get("nodes") || [];
    const seen = new Set();
    const fresh = document.createDocumentFragment();
    const moving = gesture && gesture.kind === "nodes" && gesture.moved ? gesture.nodes : null;
    for (const n of nodes) {
      seen.add(n.id);
      const { x, y, ...rest } = n;
      const sig = JSON.stringify(rest);
      let v = nodeViews.get(n.id);
      if (!v) {
        v = { g: el("g", { class: "fb-node", "data-node": n.id }, fresh) };
        nodeViews.set(n.id, v);
      }
      v.data = n;
      if (v.sig !== sig) { v.sig = sig; buildNode(v); }
      const dragging = moving && moving.has(n.id);
      if (!dragging && (v.x !== x || v.y !== y)) { v.x = x; v.y = y; placeNode(v); }
    }
    nodeLayer.appendChild(fresh);
    for (const [id, v] of nodeViews) {
      if (!seen.has(id)) { v.g.remove(); nodeViews.delete(id); }
    }
    incident.clear();
    const keep = new Set();
    const single = new Set(nodes.filter((n) => n.outcomes.length === 1).map((n) => n.id));
    // outcomes that lead to the same node share one label: "busy, failed"
    const shared = new Map();
    for (const [source, outcome, target] of model.get("edges") || []) {
      const pair = `${source}\u0000${target}`;
      if (!shared.has(pair)) shared.set(pair, []);
      shared.get(pair).push(outcome);
    }
    const freshEdges = document.createDocumentFragment();
    const freshLabels = document.createDocumentFragment();
    for (const [source, outcome, target] of model.get("edges") || []) {
      const key = `${source}\u0000${outcome}`;
      keep.add(key);
      let e = edgeViews.get(key);
      if (!e) {
        const g = el("g", { class: "fb-edge", "data-source": source, "data-outcome": outcome }, freshEdges);
        e = { g, hit: el("path", { class: "fb-edge-hit" }, g), path: el("path", { class: "fb-edge-line" }, g), label: null };
        edgeViews.set(key, e);
      }
      // every route is named on its line, except the only way out of a node
      const names = shared.get(`${source}\u0000${target}`);
      const labelled = !single.has(source) && names[0] === outcome;
      if (labelled && !e.label) {
        e.label = el("text", { class: "fb-edge-label", "text-anchor": "middle", "data-source": source, "data-outcome": outcome }, freshLabels);
      } else if (!labelled && e.label) { e.label.remove(); e.label = null; }
      if (e.label) e.label.textContent = names.join(", ");
      Object.assign(e, { key, source, outcome, target });
      e.g.setAttribute("data-target", target);
      link(source, key);
      link(target, key);
      routeEdge(e);
    }
    edgeLayer.appendChild(freshEdges);
    labelLayer.appendChild(freshLabels);
    for (const [key, e] of edgeViews) {
      if (!keep.has(key)) { e.g.remove(); if (e.label) e.label.remove(); edgeViews.delete(key); }
    }
    drawNotes();
    decorate();
    scheduleMinimap();
    publishStats();
  }

  function drawNotes() {
    const notes = model.get("notes") || [];
    const seen = new Set();
    const moving = gesture && gesture.kind === "nodes" && gesture.moved ? gesture.notes : null;
    for (const n of notes) {
      seen.add(n.id);
      let v = noteViews.get(n.id);
      if (!v) {
        v = { g: el("g", { class: "fb-note", "data-note": n.id }, noteLayer), h: 60 };
        noteViews.set(n.id, v);
      }
      if (!v.data || v.data.text !== n.text) { v.data = n; buildNote(v); }
      v.data = n;
      if (!(moving && moving.has(n.id)) && (v.x !== n.x || v.y !== n.y)) { v.x = n.x; v.y = n.y; placeNote(v); }
    }
    for (const [id, v] of noteViews) {
      if (!seen.has(id)) { v.g.remove(); noteViews.delete(id); }
    }
  }

  // Classes only: selection, entry, problems, live calls. Cheap, so run on any of them.
  function decorate() {
    const issues = model.get("issues") || {};
    const hl = model.get("highlight") || {};
    const active = new Set(hl.active || []);
    const path = hl.path || [];
    const onPath = new Set(path);
    const pathEdges = new Set();
    for (let i = 0; i + 1 < path.length; i++) pathEdges.add(`${path[i]}\u0000${path[i + 1]}`);
    const entry = model.get("entry");
    for (const [id, v] of nodeViews) {
      const issue = issues[id];
      const c = v.g.classList;
      c.toggle("fb-selected", sel.nodes.has(id));
      c.toggle("fb-error", !!issue && issue.severity === "error");
      c.toggle("fb-warning", !!issue && issue.severity === "warning");
      c.toggle("fb-active", active.has(id));
      c.toggle("fb-onpath", onPath.has(id));
      c.toggle("fb-entry", entry === id);
      if (issue && !v.badge) {
        v.badge = el("g", { class: "fb-badge", transform: `translate(${NODE_W - 4},-4)` }, v.g);
        el("circle", { r: 8 }, v.badge);
        el("text", { y: 4, "text-anchor": "middle" }, v.badge).textContent = "!";
      }
      if (entry === id && !v.entryTag) {
        v.entryTag = el("text", { class: "fb-entry-tag", x: 0, y: -6 }, v.g);
        v.entryTag.textContent = "▶ start";
      }
    }
    const edge = sel.edge || [];
    for (const e of edgeViews.values()) {
      const selected = edge[0] === e.source && edge[1] === e.outcome;
      const lit = pathEdges.has(`${e.source}\u0000${e.target}`);
      e.g.classList.toggle("fb-selected", selected);
      e.g.classList.toggle("fb-onpath", lit);
      if (e.label) e.label.classList.toggle("fb-onpath", lit);
      const marker = selected ? "selected" : lit ? "path" : "plain";
      e.path.setAttribute("marker-end", `url(#fb-arrow-${marker}-${uid})`);
    }
    for (const [id, v] of noteViews) v.g.classList.toggle("fb-selected", sel.notes.has(id));
    root.dataset.selected = sel.nodes.size === 1 ? [...sel.nodes][0] : "";
    root.dataset.selectedCount = String(sel.nodes.size + sel.notes.size);
  }

  function select(nodes = [], { edge = null, notes = [] } = {}) {
    sel = { nodes: new Set(nodes), notes: new Set(notes), edge };
    decorate();
    selSeq = Math.max(selSeq, model.get("selection_seq") || 0) + 1;
    const msg = { action: "select", seq: selSeq, nodes: [...sel.nodes].sort(), notes: [...sel.notes].sort() };
    if (edge) msg.edge = edge;
    send(msg);
  }

  function selectAll() {
    select([...nodeViews.keys()], { notes: [...noteViews.keys()] });
  }

  // -- minimap --------------------------------------------------------------------------------
  let minimapQueued = false;
  let minimapDrawn = 0;
  let minimapFrame = null; // world rect the minimap shows, and its scale
  let stageSize = { width: 0, height: 0 }; // kept by the ResizeObserver: no layout read per frame
  // The minimap is a summary: while something is dragged it is redrawn a few times a second,
  // not on every frame (redrawing it each frame cost a third of the drag's frame rate).
  function scheduleMinimap() {
    if (minimapQueued || root.classList.contains("fb-minimap-off")) return;
    minimapQueued = true;
    const wait = gesture && gesture.moved ? Math.max(0, 200 - (performance.now() - minimapDrawn)) : 0;
    setTimeout(() => requestAnimationFrame(() => { minimapQueued = false; drawMinimap(); }), wait);
  }

  function drawMinimap() {
    minimapDrawn = performance.now();
    const ctx = minimap.getContext("2d");
    const W = minimap.width, H = minimap.height;
    ctx.clearRect(0, 0, W, H);
    const b = bounds();
    const r = stageSize.width ? stageSize : svg.getBoundingClientRect();
    if (!b || !r.width) { minimapFrame = null; return; }
    const vx0 = -view.x / view.k, vy0 = -view.y / view.k;
    const vx1 = vx0 + r.width / view.k, vy1 = vy0 + r.height / view.k;
    const x0 = Math.min(b.x0, vx0) - 20, y0 = Math.min(b.y0, vy0) - 20;
    const x1 = Math.max(b.x1, vx1) + 20, y1 = Math.max(b.y1, vy1) + 20;
    const s = Math.min(W / (x1 - x0), H / (y1 - y0));
    const ox = (W - (x1 - x0) * s) / 2, oy = (H - (y1 - y0) * s) / 2;
    minimapFrame = { x0, y0, s, ox, oy };
    for (const v of nodeViews.values()) {
      ctx.fillStyle = v.g.classList.contains("fb-selected") ? "#1976d2" : v.data.color;
      ctx.fillRect(ox + (v.x - x0) * s, oy + (v.y - y0) * s, Math.max(2, NODE_W * s), Math.max(2, nodeHeight(v.data) * s));
    }
    ctx.fillStyle = "rgba(212, 177, 6, 0.6)";
    for (const v of noteViews.values()) ctx.fillRect(ox + (v.x - x0) * s, oy + (v.y - y0) * s, NOTE_W * s, v.h * s);
    ctx.strokeStyle = "#1976d2";
    ctx.lineWidth = 1.5;
    ctx.strokeRect(ox + (vx0 - x0) * s, oy + (vy0 - y0) * s, (vx1 - vx0) * s, (vy1 - vy0) * s);
  }

  function minimapPan(ev) { // centre the view on the world point under the pointer
    if (!minimapFrame) return;
    const m = minimap.getBoundingClientRect();
    const f = minimapFrame;
    const wx = (ev.clientX - m.left - f.ox) / f.s + f.x0;
    const wy = (ev.clientY - m.top - f.oy) / f.s + f.y0;
    const r = svg.getBoundingClientRect();
    view.x = r.width / 2 - wx * view.k;
    view.y = r.height / 2 - wy * view.k;
    autoFit = false;
    applyView();
  }

  // -- menus and inline editors ---------------------------------------------------------------
  function closeMenu() { menu.classList.remove("fb-show"); menu.replaceChildren(); }

  function openMenu(clientX, clientY, items) {
    closeMenu();
    closeQuick();
    for (const item of items) {
      if (item === "-") { html("div", { class: "fb-menu-sep" }, menu); continue; }
      const row = html("button", { class: "fb-menu-item", type: "button", role: "menuitem", "data-item": item.id }, menu);
      html("span", {}, row).textContent = item.text;
      if (item.keys) html("kbd", {}, row).textContent = item.keys;
      row.disabled = !!item.disabled;
      row.addEventListener("click", (ev) => {
        ev.stopPropagation();
        closeMenu();
        item.run();
        if (!quick.dataset.open && !editing) root.focus({ preventScroll: true }); // else they keep it
      });
    }
    const s = stage.getBoundingClientRect();
    menu.style.left = `${Math.min(clientX - s.left, s.width - 200)}px`;
    menu.style.top = `${Math.min(clientY - s.top, Math.max(0, s.height - 30 * items.length))}px`;
    menu.classList.add("fb-show");
    const first = menu.querySelector(".fb-menu-item:not(:disabled)");
    if (first) first.focus({ preventScroll: true });
  }

  function contextItems(ev) {
    const node = ev.target.closest && ev.target.closest(".fb-node");
    const edge = ev.target.closest && ev.target.closest(".fb-edge, .fb-edge-label");
    const note = ev.target.closest && ev.target.closest(".fb-note");
    const at = toWorld(ev.clientX, ev.clientY);
    if (node) {
      const id = node.dataset.node;
      if (!sel.nodes.has(id)) select([id]);
      const many = sel.nodes.size > 1;
      const ids = [...sel.nodes];
      return [
        ...(many ? [] : [
          { id: "rename", text: "Rename…", keys: "F2", run: () => startRename(id) },
          { id: "entry", text: "Start calls here", disabled: model.get("entry") === id, run: () => send({ action: "set_entry", node: id }) },
          "-",
        ]),
        { id: "duplicate", text: many ? `Duplicate ${ids.length} nodes` : "Duplicate", keys: "Ctrl+D", run: () => send({ action: "duplicate", nodes: ids }) },
        { id: "copy", text: "Copy", keys: "Ctrl+C", run: () => copySelection() },
        { id: "delete", text: many ? `Delete ${ids.length} nodes` : "Delete", keys: "Del", run: () => deleteSelection() },
      ];
    }
    if (edge) {
      const pair = [edge.dataset.source, edge.dataset.outcome];
      select([], { edge: pair });
      return [{ id: "disconnect", text: `Delete connection “${pair[1]}”`, keys: "Del", run: () => send({ action: "disconnect", source: pair[0], outcome: pair[1] }) }];
    }
    if (note) {
      const id = note.dataset.note;
      if (!sel.notes.has(id)) select([], { notes: [id] });
      return [
        { id: "edit-note", text: "Edit note", run: () => startNoteEdit(id) },
        { id: "delete", text: "Delete note", keys: "Del", run: () => deleteSelection() },
      ];
    }
    return [
      { id: "add", text: "Add a node here…", run: () => openQuick(ev.clientX, ev.clientY, at, null) },
      { id: "note", text: "Add a note here", run: () => addKind("note", at) },
      { id: "paste", text: "Paste", keys: "Ctrl+V", disabled: !pageClipboard.text, run: () => pasteText(pageClipboard.text, at) },
      "-",
      { id: "select-all", text: "Select all", keys: "Ctrl+A", run: () => selectAll() },
      { id: "fit", text: "Fit the flow in view", keys: "F", run: () => { autoFit = true; fit(); } },
      { id: "layout", text: "Auto-layout", run: () => send({ action: "layout" }) },
    ];
  }

  function closeQuick() { quick.classList.remove("fb-show"); quick.dataset.open = ""; }

  // The quick-add box: type to filter kinds, Enter adds the first at *at* (connected from a
  // dropped wire's port when *from* is given).
  let quickTarget = null;
  function openQuick(clientX, clientY, at, from) {
    closeMenu();
    quickTarget = { at, from };
    const s = stage.getBoundingClientRect();
    quick.style.left = `${Math.max(0, Math.min(clientX - s.left, s.width - 220))}px`;
    quick.style.top = `${Math.max(0, Math.min(clientY - s.top, s.height - 240))}px`;
    quickInput.value = "";
    fillQuick();
    quick.classList.add("fb-show");
    quick.dataset.open = "1";
    quickInput.focus({ preventScroll: true });
  }

  function fillQuick() {
    quickList.replaceChildren();
    const query = quickInput.value.trim();
    for (const k of ranked(paletteKinds(), query)) {
      if (k.name === "note" && quickTarget && quickTarget.from) continue;
      const row = html("button", { class: "fb-quick-item", type: "button", "data-kind": k.name }, quickList);
      row.textContent = `${k.icon}  ${k.title}`;
      row.addEventListener("click", () => { const t = quickTarget; closeQuick(); addKind(k.name, t.at, t.from); root.focus({ preventScroll: true }); });
    }
  }

  listen(quickInput, "input", fillQuick);
  listen(quickInput, "keydown", (ev) => {
    if (ev.key === "Enter") {
      const first = quickList.querySelector(".fb-quick-item");
      if (first) first.click();
      ev.preventDefault();
    } else if (ev.key === "Escape") {
      closeQuick();
      root.focus({ preventScroll: true });
      ev.preventDefault();
    } else if (ev.key === "ArrowDown") {
      const first = quickList.querySelector(".fb-quick-item");
      if (first) first.focus();
      ev.preventDefault();
    }
    ev.stopPropagation();
  });
  listen(quickList, "keydown", (ev) => {
    const item = ev.target.closest(".fb-quick-item");
    if (!item) return;
    if (ev.key === "ArrowDown" && item.nextElementSibling) item.nextElementSibling.focus();
    else if (ev.key === "ArrowUp") (item.previousElementSibling || quickInput).focus();
    else if (ev.key === "Escape") { closeQuick(); root.focus({ preventScroll: true }); }
    else return;
    ev.preventDefault();
    ev.stopPropagation();
  });

  // One inline editor (a textarea over the canvas) for renaming a node and writing notes.
  let editing = null;
  function openEditor(box, value, { multiline, onDone }) {
    const s = stage.getBoundingClientRect();
    editor.style.left = `${box.left - s.left}px`;
    editor.style.top = `${box.top - s.top}px`;
    editor.style.width = `${Math.max(140, box.width)}px`;
    editor.style.height = `${Math.max(26, box.height)}px`;
    editor.rows = multiline ? 4 : 1;
    editor.value = value;
    editor.classList.toggle("fb-multiline", !!multiline);
    editor.classList.add("fb-show");
    editing = { multiline, onDone };
    editor.focus();
    editor.select();
  }

  function closeEditor(commit) {
    if (!editing) return;
    const { onDone } = editing;
    editing = null;
    editor.classList.remove("fb-show");
    if (commit) onDone(editor.value);
    root.focus({ preventScroll: true });
  }

  listen(editor, "keydown", (ev) => {
    if (ev.key === "Escape") closeEditor(false);
    else if (ev.key === "Enter" && (!editing || !editing.multiline || ev.ctrlKey || ev.metaKey)) closeEditor(true);
    else { ev.stopPropagation(); return; }
    ev.preventDefault();
    ev.stopPropagation();
  });
  listen(editor, "blur", () => closeEditor(true));

  function startRename(id) {
    const v = nodeViews.get(id);
    if (!v) return;
    keepInView(id);
    const label = v.g.querySelector(".fb-node-label");
    const box = label.getBoundingClientRect();
    const nodeBox = v.g.querySelector(".fb-node-box").getBoundingClientRect();
    openEditor({ left: box.left - 4, top: box.top - 4, width: nodeBox.right - box.left - 8, height: box.height + 8 },
      v.data.label || v.data.id, {
        multiline: false,
        onDone: (text) => {
          const label = text.trim();
          if (label !== (v.data.label || v.data.id)) send({ action: "label", node: id, label });
        },
      });
  }

  function startNoteEdit(id) {
    const v = noteViews.get(id);
    if (!v) return;
    const box = v.box.getBoundingClientRect();
    openEditor({ left: box.left, top: box.top, width: box.width, height: Math.max(box.height, 90) }, v.data.text || "", {
      multiline: true,
      onDone: (text) => { if (text !== (v.data.text || "")) send({ action: "note_edit", note: id, text }); },
    });
  }

  // -- clipboard ------------------------------------------------------------------------------
  function fragment() {
    const ids = [...sel.nodes].filter((id) => nodeViews.has(id));
    const notes = [...sel.notes].filter((id) => noteViews.has(id));
    if (!ids.length && !notes.length) return null;
    const inside = new Set(ids);
    const nodes = {};
    for (const id of ids) {
      const n = nodeViews.get(id);
      nodes[id] = { kind: n.data.kind, label: n.data.label, params: n.data.params || {}, x: n.x, y: n.y };
    }
    const edges = [];
    for (const e of edgeViews.values()) {
      if (inside.has(e.source) && inside.has(e.target)) edges.push([e.source, e.outcome, e.target]);
    }
    const noteData = notes.map((id) => { const v = noteViews.get(id); return { text: v.data.text, x: v.x, y: v.y }; });
    return JSON.stringify({ [CLIPBOARD_TAG]: 1, nodes, edges, notes: noteData });
  }

  function copySelection(clipboardData) {
    const text = fragment();
    if (!text) return false;
    pageClipboard.text = text;
    if (clipboardData) clipboardData.setData("text/plain", text);
    else if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).catch(() => {});
    const count = sel.nodes.size + sel.notes.size;
    showNotice(`Copied ${count} item${count === 1 ? "" : "s"}: paste with Ctrl+V here or in another builder.`);
    return true;
  }

  function pasteText(text, at) {
    let data;
    try { data = JSON.parse(text); } catch (err) { data = null; }
    if (!data || !data[CLIPBOARD_TAG]) {
      showNotice("Nothing to paste: copy nodes in a builder first (Ctrl+C).");
      return false;
    }
    const p = at || viewCenter();
    send({ action: "paste", fragment: data, x: Math.round(p.x), y: Math.round(p.y) });
    return true;
  }

  function deleteSelection() {
    if (sel.nodes.size || sel.notes.size) send({ action: "delete", nodes: [...sel.nodes], notes: [...sel.notes] });
    else if (sel.edge) send({ action: "disconnect", source: sel.edge[0], outcome: sel.edge[1] });
    else return false;
    return true;
  }

  let lastPointer = null; // world point of the last pointer position on the canvas: paste goes there

  // -- gestures -------------------------------------------------------------------------------
  // The dragged items keep the world point that was grabbed under the pointer, even when the view
  // zooms or pans in the middle of the drag.
  function dragNodesTo(clientX, clientY) {
    const g = gesture;
    g.lastX = clientX;
    g.lastY = clientY;
    const p = toWorld(clientX, clientY);
    const wx = p.x - g.grab.x, wy = p.y - g.grab.y;
    for (const [id, o] of g.origin) {
      const v = nodeViews.get(id) || noteViews.get(id);
      if (!v) continue;
      v.x = o[0] + wx;
      v.y = o[1] + wy;
      if (nodeViews.get(id) !== v) placeNote(v);
      else if (!lifted || !lifted.nodes.has(id)) placeNode(v);
    }
    if (lifted) liftNodes.style.transform = `translate(${wx * view.k}px,${wy * view.k}px)`;
    const touched = new Set();
    for (const id of g.nodes) for (const key of incident.get(id) || []) touched.add(key);
    for (const key of touched) routeEdge(edgeViews.get(key));
    scheduleMinimap();
  }

  // Held near an edge of the canvas, a drag pans the view that way (faster the closer it is), so
  // a node can be taken anywhere without dropping it first.
  const EDGE_PAN_PX = 28, EDGE_PAN_STEP = 14;
  let edgePanFrame = 0;
  function edgePan() {
    edgePanFrame = 0;
    const g = gesture;
    if (!g || g.kind !== "nodes" || !g.moved) return;
    const r = svg.getBoundingClientRect();
    const push = (d) => (d < EDGE_PAN_PX ? EDGE_PAN_STEP * Math.min(2, 1 - d / EDGE_PAN_PX) : 0);
    const px = push(g.lastX - r.left) - push(r.right - g.lastX);
    const py = push(g.lastY - r.top) - push(r.bottom - g.lastY);
    if (!px && !py) return;
    view.x += px;
    view.y += py;
    autoFit = false;
    applyView(); // the dragged items follow (dragNodesTo)
    edgePanFrame = requestAnimationFrame(edgePan);
  }

  function onMove(ev) {
    if (!gesture) return;
    stats.mousemoves++;
    const dx = ev.clientX - gesture.startX, dy = ev.clientY - gesture.startY;
    if (!gesture.moved && Math.hypot(dx, dy) < CLICK_SLOP) { publishStats(); return; }
    if (!gesture.moved && gesture.kind === "nodes") {
      root.classList.add("fb-dragging");
      lift(gesture.nodes);
    }
    gesture.moved = true;
    if (gesture.kind === "nodes") {
      dragNodesTo(ev.clientX, ev.clientY);
      stats.dragFrames++;
      if (!edgePanFrame) edgePanFrame = requestAnimationFrame(edgePan);
    } else if (gesture.kind === "pan") {
      view.x = gesture.origX + dx;
      view.y = gesture.origY + dy;
      autoFit = false;
      applyView();
    } else if (gesture.kind === "band") {
      const s = stage.getBoundingClientRect();
      const x0 = Math.min(ev.clientX, gesture.startX), y0 = Math.min(ev.clientY, gesture.startY);
      Object.assign(band.style, {
        display: "block", left: `${x0 - s.left}px`, top: `${y0 - s.top}px`,
        width: `${Math.abs(dx)}px`, height: `${Math.abs(dy)}px`,
      });
    } else if (gesture.kind === "wire") {
      const p = toWorld(ev.clientX, ev.clientY);
      wire.setAttribute("d", pathOf(curve(gesture.x, gesture.y, p.x, p.y)));
      const over = targetNode(ev);
      for (const v of nodeViews.values()) v.g.classList.toggle("fb-drop", v.g === over);
    } else if (gesture.kind === "palette") {
      gesture.ghost.style.left = `${ev.clientX + 8}px`;
      gesture.ghost.style.top = `${ev.clientY + 8}px`;
      gesture.ghost.style.display = "block";
    } else if (gesture.kind === "minimap") {
      minimapPan(ev);
    }
    publishStats();
  }

  function targetNode(ev) {
    const hit = document.elementFromPoint(ev.clientX, ev.clientY);
    return hit && hit.closest ? hit.closest(".fb-node") : null;
  }

  function insideSvg(ev) {
    const r = svg.getBoundingClientRect();
    return ev.clientX >= r.left && ev.clientX <= r.right && ev.clientY >= r.top && ev.clientY <= r.bottom;
  }

  function onUp(ev) {
    const g = gesture;
    endGesture();
    if (!g) return;
    if (g.kind === "nodes") {
      if (!g.moved) {
        if (g.toggle) {
          const nodes = new Set(sel.nodes), notes = new Set(sel.notes);
          const set = g.note ? notes : nodes;
          if (g.wasSelected) set.delete(g.id); else set.add(g.id);
          select([...nodes], { notes: [...notes] });
        } else if (g.note) select([], { notes: [g.id] });
        else select([g.id]);
      } else {
        const moves = {}, notes = {};
        for (const id of g.origin.keys()) {
          const v = nodeViews.get(id), n = noteViews.get(id);
          if (v && g.nodes.has(id)) { v.x = Math.round(v.x); v.y = Math.round(v.y); placeNode(v); moves[id] = [v.x, v.y]; }
          else if (n) { n.x = Math.round(n.x); n.y = Math.round(n.y); placeNote(n); notes[id] = [n.x, n.y]; }
        }
        send({ action: "move", nodes: moves, notes });
      }
    } else if (g.kind === "pan") {
      if (g.moved) suppressMenuUntil = performance.now() + 400;
      if (g.button === 2 && !g.moved && g.menu) openMenu(ev.clientX, ev.clientY, contextItems(g.menu));
    } else if (g.kind === "band") {
      band.style.display = "none";
      if (!g.moved) { if (!g.additive) select([]); }
      else {
        const a = toWorld(g.startX, g.startY), b = toWorld(ev.clientX, ev.clientY);
        const x0 = Math.min(a.x, b.x), x1 = Math.max(a.x, b.x), y0 = Math.min(a.y, b.y), y1 = Math.max(a.y, b.y);
        const nodes = g.additive ? new Set(sel.nodes) : new Set();
        const notes = g.additive ? new Set(sel.notes) : new Set();
        for (const [id, v] of nodeViews) {
          if (v.x < x1 && v.x + NODE_W > x0 && v.y < y1 && v.y + nodeHeight(v.data) > y0) nodes.add(id);
        }
        for (const [id, v] of noteViews) {
          if (v.x < x1 && v.x + NOTE_W > x0 && v.y < y1 && v.y + v.h > y0) notes.add(id);
        }
        select([...nodes], { notes: [...notes] });
      }
    } else if (g.kind === "wire") {
      wire.setAttribute("d", "");
      for (const v of nodeViews.values()) v.g.classList.remove("fb-drop");
      const over = targetNode(ev);
      if (over) {
        send({ action: "connect", source: g.source, outcome: g.outcome, target: over.dataset.node });
      } else if (g.moved && insideSvg(ev)) {
        const p = toWorld(ev.clientX, ev.clientY);
        openQuick(ev.clientX, ev.clientY, { x: p.x, y: p.y - IN_Y }, [g.source, g.outcome]);
      }
    } else if (g.kind === "palette") {
      if (!g.moved) addKind(g.kindName, null);
      else if (insideSvg(ev)) {
        const p = toWorld(ev.clientX, ev.clientY);
        addKind(g.kindName, { x: p.x - NODE_W / 2, y: p.y - HEAD_H / 2 });
      }
    }
    publishStats();
  }

  function beginGesture(g, ev) {
    gesture = { ...g, startX: ev.clientX, startY: ev.clientY, moved: false };
    window.addEventListener("mousemove", onMove);
    window.addEventListener("mouseup", onUp);
  }

  function endGesture() {
    if (gesture && gesture.moved) setTimeout(scheduleMinimap, 0); // the final places
    if (gesture && gesture.ghost) gesture.ghost.remove();
    gesture = null;
    if (edgePanFrame) cancelAnimationFrame(edgePanFrame);
    edgePanFrame = 0;
    settle();
    root.classList.remove("fb-dragging");
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
    svg.classList.remove("fb-panning", "fb-wiring");
  }
  cleanups.push(endGesture);

  function startPan(ev, extra = {}) {
    svg.classList.add("fb-panning");
    beginGesture({ kind: "pan", origX: view.x, origY: view.y, button: ev.button, ...extra }, ev);
  }

  listen(svg, "mousedown", (ev) => {
    closeMenu();
    if (quick.dataset.open) closeQuick();
    if (ev.button === 1 || ev.button === 2) { // middle or right drag pans; a right click is the menu
      ev.preventDefault();
      root.focus({ preventScroll: true });
      startPan(ev, { menu: ev.button === 2 ? { target: ev.target, clientX: ev.clientX, clientY: ev.clientY } : null });
      return;
    }
    if (ev.button !== 0) return;
    root.focus({ preventScroll: true });
    ev.preventDefault();
    if (spaceDown) { startPan(ev); return; }
    const port = ev.target.closest(".fb-port-out");
    const node = ev.target.closest(".fb-node");
    const note = ev.target.closest(".fb-note");
    const edge = ev.target.closest(".fb-edge, .fb-edge-label");
    if (port) {
      const v = nodeViews.get(port.dataset.node);
      const i = v.data.outcomes.indexOf(port.dataset.outcome);
      svg.classList.add("fb-wiring");
      beginGesture({ kind: "wire", source: v.data.id, outcome: port.dataset.outcome,
        x: v.x + NODE_W, y: v.y + portY(i) }, ev);
    } else if (node || note) {
      const id = node ? node.dataset.node : note.dataset.note;
      const set = node ? sel.nodes : sel.notes;
      const toggle = ev.shiftKey || ev.ctrlKey || ev.metaKey;
      const wasSelected = set.has(id);
      // dragging a selected item moves the whole selection; an unselected one moves alone
      const nodes = wasSelected ? new Set(sel.nodes) : new Set(node ? [id] : []);
      const notes = wasSelected ? new Set(sel.notes) : new Set(note ? [id] : []);
      if (toggle && !wasSelected) { for (const n of sel.nodes) nodes.add(n); for (const n of sel.notes) notes.add(n); }
      const origin = new Map();
      for (const n of nodes) { const v = nodeViews.get(n); if (v) origin.set(n, [v.x, v.y]); }
      for (const n of notes) { const v = noteViews.get(n); if (v) origin.set(n, [v.x, v.y]); }
      const grab = toWorld(ev.clientX, ev.clientY);
      beginGesture({ kind: "nodes", id, note: !node, toggle, wasSelected, nodes, notes, origin, grab }, ev);
    } else if (edge) {
      select([], { edge: [edge.dataset.source, edge.dataset.outcome] });
    } else {
      beginGesture({ kind: "band", additive: ev.shiftKey || ev.ctrlKey || ev.metaKey }, ev);
    }
  });

  listen(svg, "mousemove", (ev) => { lastPointer = toWorld(ev.clientX, ev.clientY); });
  listen(svg, "mouseleave", () => { lastPointer = null; });

  listen(svg, "dblclick", (ev) => {
    const node = ev.target.closest(".fb-node");
    const note = ev.target.closest(".fb-note");
    if (node) startRename(node.dataset.node);
    else if (note) startNoteEdit(note.dataset.note);
    else { const p = toWorld(ev.clientX, ev.clientY); openQuick(ev.clientX, ev.clientY, { x: p.x - NODE_W / 2, y: p.y - HEAD_H / 2 }, null); }
  });

  listen(svg, "mouseover", (ev) => { // tooltips are built when first needed
    const node = ev.target.closest && ev.target.closest(".fb-node");
    if (!node) return;
    const v = nodeViews.get(node.dataset.node);
    if (!v) return;
    if (!v.tip) v.tip = el("title", {}, v.g);
    v.tip.textContent = tooltip(v);
  });

  listen(svg, "contextmenu", (ev) => {
    ev.preventDefault();
    ev.stopPropagation();
    if (gesture && gesture.kind === "pan" && gesture.button === 2) return; // opened on mouseup
    if (performance.now() < suppressMenuUntil) return; // that right button panned
    openMenu(ev.clientX, ev.clientY, contextItems(ev));
  });

  listen(palette, "mousedown", (ev) => {
    const item = ev.target.closest(".fb-palette-item");
    if (!item || ev.button !== 0) return;
    ev.preventDefault();
    root.focus({ preventScroll: true });
    const ghost = html("div", { class: "fb-ghost" }, document.body);
    ghost.textContent = item.textContent;
    beginGesture({ kind: "palette", kindName: item.dataset.kind, ghost }, ev);
  });

  listen(search, "input", drawPalette);
  listen(search, "keydown", (ev) => {
    if (ev.key === "Enter") {
      const first = paletteList.querySelector(".fb-palette-item");
      if (first) { addKind(first.dataset.kind, null); search.value = ""; drawPalette(); root.focus({ preventScroll: true }); }
    } else if (ev.key === "Escape") {
      search.value = "";
      drawPalette();
      root.focus({ preventScroll: true });
    } else return;
    ev.preventDefault();
    ev.stopPropagation();
  });
  listen(collapse, "click", () => setCollapsed(!root.classList.contains("fb-palette-collapsed"), true));

  listen(minimap, "mousedown", (ev) => {
    if (ev.button !== 0) return;
    ev.preventDefault();
    ev.stopPropagation();
    root.focus({ preventScroll: true });
    minimapPan(ev);
    beginGesture({ kind: "minimap" }, ev);
  });

  // The wheel scrolls the notebook; with Ctrl (or a pinch, which browsers send as Ctrl+wheel)
  // or Alt it zooms the canvas.
  listen(svg, "wheel", (ev) => {
    if (!(ev.ctrlKey || ev.metaKey || ev.altKey)) return;
    ev.preventDefault();
    const r = svg.getBoundingClientRect();
    zoomAt(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });

  // -- keyboard -------------------------------------------------------------------------------
  let nudge = null; // arrow-key moves, gathered into one action
  function nudgeBy(dx, dy) {
    if (!sel.nodes.size && !sel.notes.size) { view.x -= dx * view.k * 4; view.y -= dy * view.k * 4; autoFit = false; applyView(); return; }
    if (!nudge) nudge = { nodes: {}, notes: {} };
    for (const id of sel.nodes) {
      const v = nodeViews.get(id);
      if (!v) continue;
      v.x += dx; v.y += dy; placeNode(v);
      for (const key of incident.get(id) || []) routeEdge(edgeViews.get(key));
      nudge.nodes[id] = [v.x, v.y];
    }
    for (const id of sel.notes) {
      const v = noteViews.get(id);
      if (!v) continue;
      v.x += dx; v.y += dy; placeNote(v);
      nudge.notes[id] = [v.x, v.y];
    }
    clearTimeout(nudge.timer);
    nudge.timer = setTimeout(flushNudge, 400);
  }
  function flushNudge() {
    if (!nudge) return;
    clearTimeout(nudge.timer);
    const { nodes, notes } = nudge;
    nudge = null;
    send({ action: "move", nodes, notes });
  }
  cleanups.push(flushNudge);

  // Keys for the canvas itself (it has the focus).
  function canvasKey(ev) {
    const key = ev.key;
    const mod = ev.ctrlKey || ev.metaKey;
    const step = ev.shiftKey ? 1 : 10;
    if (key === "Delete" || key === "Backspace") return deleteSelection();
    if (!mod && (key === "f" || key === "F")) { autoFit = true; return fit() || true; }
    if (!mod && (key === "+" || key === "=")) { const r = svg.getBoundingClientRect(); zoomAt(1.25, r.width / 2, r.height / 2); return true; }
    if (!mod && (key === "-" || key === "_")) { const r = svg.getBoundingClientRect(); zoomAt(0.8, r.width / 2, r.height / 2); return true; }
    if (key === "ArrowLeft") { nudgeBy(-step, 0); return true; }
    if (key === "ArrowRight") { nudgeBy(step, 0); return true; }
    if (key === "ArrowUp") { nudgeBy(0, -step); return true; }
    if (key === "ArrowDown") { nudgeBy(0, step); return true; }
    if (key === "F2" && sel.nodes.size === 1) { startRename([...sel.nodes][0]); return true; }
    if (key === "Enter" && sel.notes.size === 1 && !sel.nodes.size) { startNoteEdit([...sel.notes][0]); return true; }
    if (mod && (key === "d" || key === "D")) { if (sel.nodes.size) send({ action: "duplicate", nodes: [...sel.nodes] }); return true; }
    if (!mod && (key === "/" || key === "n" || key === "N")) {
      if (key === "/") { setCollapsed(false, false); search.focus(); return true; }
      const r = svg.getBoundingClientRect();
      openQuick(r.left + r.width / 2 - 100, r.top + 40, null, null);
      return true;
    }
    if (key === " ") { spaceDown = true; svg.classList.add("fb-space"); return true; }
    if (key === "Escape") {
      if (sel.nodes.size || sel.notes.size || sel.edge) { select([]); return true; }
      handBack();
      return true;
    }
    return false;
  }

  listen(root, "keydown", (ev) => {
    if (isEditable(ev.target)) return; // the palette search and editors handle their own keys
    if (canvasKey(ev)) { ev.preventDefault(); ev.stopPropagation(); }
  });
  listen(root, "keyup", (ev) => { if (ev.key === " ") { spaceDown = false; svg.classList.remove("fb-space"); } });
  listen(root, "blur", () => { spaceDown = false; svg.classList.remove("fb-space"); });

  // -- the whole builder owns its keys and right-clicks -----------------------------------------
  let shell = null; // the builder's outermost element (ipywidgets' VBox with class fb-builder)

  function handBack() {
    engaged = false;
    const active = document.activeElement;
    if (active && active.blur) active.blur();
    const notebook = (shell || root).closest(".jp-Notebook");
    if (notebook) notebook.focus({ preventScroll: true });
  }

  function builderKey(ev) { // any key inside the builder but outside the canvas's own handler
    const mod = ev.ctrlKey || ev.metaKey;
    const key = ev.key;
    if (isEditable(ev.target)) {
      if (key === "Escape") { ev.target.blur(); root.focus({ preventScroll: true }); ev.preventDefault(); }
      return; // typing, and the field's own undo
    }
    let handled = true;
    if (mod && (key === "z" || key === "Z")) send({ action: ev.shiftKey ? "redo" : "undo" });
    else if (mod && (key === "y" || key === "Y")) send({ action: "redo" });
    else if (mod && (key === "a" || key === "A")) selectAll();
    else if (mod && (key === "s" || key === "S")) send({ action: "save" });
    else if (key === "Escape") handBack();
    else handled = false;
    if (handled) ev.preventDefault();
  }

  function onDocumentKey(ev) { // Ctrl+Z etc. while the canvas has the focus
    if (!root.contains(document.activeElement) || isEditable(ev.target)) return;
    const mod = ev.ctrlKey || ev.metaKey;
    if (!mod) return;
    const key = ev.key.toLowerCase();
    if (key === "z") send({ action: ev.shiftKey ? "redo" : "undo" });
    else if (key === "y") send({ action: "redo" });
    else if (key === "a") selectAll();
    else if (key === "s") send({ action: "save" });
    else return;
    ev.preventDefault();
    ev.stopPropagation();
  }
  listen(root, "keydown", onDocumentKey);

  // A click anywhere outside the builder gives the focus back to the notebook.
  let engaged = false; // the last click was in this builder: its keys are ours
  function onOutsideDown(ev) {
    const owner = shell || root;
    engaged = owner.contains(ev.target);
    if (engaged) return;
    closeMenu();
    closeQuick();
    if (owner.contains(document.activeElement)) document.activeElement.blur();
  }
  listen(document, "mousedown", onOutsideDown, true);
  // A button that disables itself when clicked (Undo with nothing left, Redo) drops the focus
  // on the page's body; the keys that follow are still meant for this builder.
  listen(window, "keydown", (ev) => {
    const active = document.activeElement;
    if (!engaged || (active && active !== document.body)) return;
    builderKey(ev);
    if (ev.defaultPrevented) ev.stopPropagation();
  }, true);

  function adoptShell() {
    const found = host.closest(".fb-builder");
    if (!found || found === shell) return !!found;
    shell = found;
    shell.setAttribute("data-lm-suppress-shortcuts", "true");
    shell.setAttribute("data-jp-suppress-context-menu", "true");
    const onKey = (ev) => { if (!root.contains(ev.target)) builderKey(ev); };
    const onMenu = (ev) => {
      if (root.contains(ev.target) || isEditable(ev.target)) return;
      ev.preventDefault(); // the builder has no menu here, and JupyterLab's is not for it
      ev.stopPropagation();
    };
    shell.addEventListener("keydown", onKey);
    shell.addEventListener("contextmenu", onMenu);
    cleanups.push(() => {
      shell.removeEventListener("keydown", onKey);
      shell.removeEventListener("contextmenu", onMenu);
    });
    root.dataset.shell = "1";
    ro.observe(shell);
    return true;
  }

  // -- clipboard events (the browser's own copy and paste, so the system clipboard works) ----
  listen(document, "copy", (ev) => {
    if (!root.contains(document.activeElement) || isEditable(document.activeElement)) return;
    if (copySelection(ev.clipboardData)) ev.preventDefault();
  });
  listen(document, "cut", (ev) => {
    if (!root.contains(document.activeElement) || isEditable(document.activeElement)) return;
    if (copySelection(ev.clipboardData)) { ev.preventDefault(); deleteSelection(); }
  });
  let pastedAt = 0;
  listen(document, "paste", (ev) => {
    if (!root.contains(document.activeElement) || isEditable(document.activeElement)) return;
    const text = ev.clipboardData ? ev.clipboardData.getData("text/plain") : "";
    pastedAt = performance.now();
    ev.preventDefault();
    pasteText(text || pageClipboard.text, lastPointer);
  });
  // Browsers that send no paste event for a canvas (nothing editable has the focus): the page's
  // clipboard, a moment later.
  listen(root, "keydown", (ev) => {
    if (isEditable(ev.target) || !(ev.ctrlKey || ev.metaKey)) return;
    const key = ev.key.toLowerCase();
    if (key === "v") {
      const asked = performance.now();
      setTimeout(() => { if (pastedAt < asked) pasteText(pageClipboard.text, lastPointer); }, 120);
    } else if (key === "c" || key === "x") {
      const text = fragment();
      if (text) pageClipboard.text = text; // the copy event, when it comes, says the same
    }
  });

  listen(buttons.fit, "click", () => { autoFit = true; fit(); });
  const zoomCenter = (f) => { const r = svg.getBoundingClientRect(); zoomAt(f, r.width / 2, r.height / 2); };
  listen(buttons["zoom-in"], "click", () => zoomCenter(1.25));
  listen(buttons["zoom-out"], "click", () => zoomCenter(0.8));
  listen(buttons.minimap, "click", () => {
    root.classList.toggle("fb-minimap-off");
    scheduleMinimap();
  });

  // -- files the kernel hands over (export picture) -------------------------------------------
  function download(name, blob) {
    const url = URL.createObjectURL(blob);
    const a = html("a", { href: url, download: name }, document.body);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function exportPicture(msg) {
    const blob = new Blob([msg.svg], { type: "image/svg+xml" });
    if (msg.format !== "png") { download(msg.name, blob); return; }
    const img = new Image();
    const url = URL.createObjectURL(blob);
    img.onload = () => {
      const scale = 2;
      const c = html("canvas", { width: Math.ceil(img.width * scale), height: Math.ceil(img.height * scale) });
      const ctx = c.getContext("2d");
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, c.width, c.height);
      ctx.drawImage(img, 0, 0, c.width, c.height);
      URL.revokeObjectURL(url);
      c.toBlob((png) => download(msg.name, png), "image/png");
    };
    img.onerror = () => { URL.revokeObjectURL(url); showNotice("The picture could not be drawn as PNG; export SVG instead.", "error"); };
    img.src = url;
  }

  // -- model wiring ---------------------------------------------------------------------------
  const onData = () => {
    const before = bounds();
    draw();
    if (autoFit && fitted && grewOutOfView(before)) fit(true);
  };
  const onSelection = () => {
    if ((model.get("selection_seq") || 0) < selSeq) return; // a newer click is on its way
    sel = readSelection();
    decorate();
    scheduleMinimap();
  };
  const onDecor = () => decorate();
  const onHeight = () => { root.style.height = `${model.get("height")}px`; };
  const onKinds = () => drawPalette();
  const onCustom = (msg) => {
    if (!msg || typeof msg !== "object") return;
    live = true;
    root.classList.remove("fb-static");
    if (msg.action === "fit") { autoFit = true; fit(); }
    else if (msg.action === "focus") { keepInView(msg.node); }
    else if (msg.action === "center") centerOn(msg.node);
    else if (msg.action === "notice") showNotice(msg.text, msg.level);
    else if (msg.action === "download") exportPicture(msg);
    else if (msg.action === "edit_note") requestAnimationFrame(() => startNoteEdit(msg.note));
  };
  const handlers = [
    ["change:nodes", onData], ["change:edges", onData], ["change:notes", onData],
    ["change:selection", onSelection], ["change:selection_seq", onSelection], ["change:issues", onDecor], ["change:highlight", onDecor],
    ["change:entry", onDecor], ["change:height", onHeight], ["change:kinds", onKinds],
    ["msg:custom", onCustom],
  ];
  for (const [name, fn] of handlers) model.on(name, fn);
  cleanups.push(() => { for (const [name, fn] of handlers) model.off(name, fn); });

  onHeight();
  setCollapsed(false, false);
  drawPalette();
  draw();
  applyView();
  root.dataset.firstDrawMs = (performance.now() - t0).toFixed(1);

  // Fit once the stage has a size (it may not be in the page yet when render runs), then
  // follow resizes of the page: refit while the user has not moved the view. The inspector
  // opening beside the canvas only narrows the stage: the view stays, the selection in sight.
  let lastShellWidth = 0;
  const ro = new ResizeObserver(() => {
    const box = svg.getBoundingClientRect();
    stageSize = { width: box.width, height: box.height };
    // the palette folds when the whole builder is narrow (not when the inspector opens)
    const shellWidth = (shell || root).getBoundingClientRect().width;
    if (!root.dataset.paletteByUser && shellWidth) setCollapsed(shellWidth < 1000, false);
    if (!fitted) { fitted = fit(true); lastShellWidth = shellWidth; return; }
    if (shellWidth !== lastShellWidth) {
      lastShellWidth = shellWidth;
      if (autoFit) fit(true);
    }
    if (sel.nodes.size === 1) keepInView([...sel.nodes][0]);
    scheduleMinimap();
  });
  ro.observe(stage);
  cleanups.push(() => ro.disconnect());
  let tries = 0;
  const findShell = () => { if (!adoptShell() && ++tries < 60) requestAnimationFrame(findShell); };
  requestAnimationFrame(() => {
    findShell();
    if (!fitted) fitted = fit(true);
    requestAnimationFrame(() => {
      root.dataset.interactiveMs = (performance.now() - t0).toFixed(1);
      root.dataset.ready = "1";
    });
  });
  // Ask the kernel whether it is there; a picture restored from a saved notebook gets no answer.
  send({ action: "hello" });
  const staticTimer = setTimeout(showStatic, 6000);
  cleanups.push(() => clearTimeout(staticTimer));

  return () => { for (const fn of cleanups) fn(); };
}

export default { render };
