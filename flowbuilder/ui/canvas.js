// flowbuilder canvas: draws a call flow as SVG and turns gestures into messages for Python.
//
// Python owns the flow. The synced traits carry it as data (nodes, edges, entry, issues,
// selection, highlight, kinds); this module draws them and sends user actions with
// model.send({action: ...}). A drag moves the node here, frame by frame, and sends only the
// final position; redrawing is keyed by node id, so an update touches only what changed.
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

function edgePath(x1, y1, x2, y2) {
  const back = x2 < x1 - 10; // a loop back to an earlier node goes round, below or above
  const dx = back ? 90 : Math.max(24, (x2 - x1) / 2);
  const dy = back ? Math.max(70, Math.abs(y2 - y1) / 2) * (y2 >= y1 ? 1 : -1) : 0;
  return `M${x1},${y1} C${x1 + dx},${y1 + dy} ${x2 - dx},${y2 + dy} ${x2},${y2}`;
}

function render({ model, el: host }) {
  const t0 = performance.now();
  setGeometry(model.get("geometry"));
  const uid = Math.random().toString(36).slice(2, 9);
  const stats = { renders: 0, nodeBuilds: 0, mousemoves: 0, dragFrames: 0 };
  const cleanups = [];

  // -- DOM skeleton ---------------------------------------------------------------------------
  const root = html("div", { class: "fb-canvas", tabindex: "0" }, host);
  // JupyterLab: keys pressed in here are ours (Delete, Ctrl+Z), not notebook shortcuts
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  const palette = html("div", { class: "fb-palette" }, root);
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
  const edgeLayer = el("g", { class: "fb-edges" }, viewport);
  const nodeLayer = el("g", { class: "fb-nodes" }, viewport);
  const wire = el("path", { class: "fb-wire", d: "" }, viewport);
  const toolbar = html("div", { class: "fb-toolbar" }, stage);
  const zoomLabel = html("span", { class: "fb-zoom" }, toolbar);
  const buttons = {};
  for (const [name, text, tip] of [
    ["zoom-out", "−", "Zoom out"], ["zoom-in", "+", "Zoom in"],
    ["fit", "Fit", "Fit the flow in view (F)"],
  ]) {
    buttons[name] = html("button", { class: `fb-btn fb-btn-${name}`, title: tip, type: "button" }, toolbar);
    buttons[name].textContent = text;
  }
  const hint = html("div", { class: "fb-hint" }, stage);
  hint.textContent = "Drag a port ● to a node to connect · Del removes · Ctrl+Z undoes · wheel zooms";
  const notice = html("div", { class: "fb-notice" }, stage);

  // -- view state -----------------------------------------------------------------------------
  const view = { x: 20, y: 20, k: 1 };
  let fitted = false;
  const nodeViews = new Map(); // id -> {data, sig, g, x, y}
  const edgeViews = new Map(); // "source\u0000outcome" -> {g, path, hit, source, outcome, target}
  const incident = new Map(); // node id -> Set of edge keys
  let selection = model.get("selection") || {};
  let gesture = null; // the drag in progress: node, wire, pan or palette

  const send = (msg) => model.send(msg);
  const publishStats = () => { root.dataset.stats = JSON.stringify(stats); };

  function applyView() {
    viewport.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.k})`);
    zoomLabel.textContent = `${Math.round(view.k * 100)}%`;
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
    return nodeViews.size ? { x0, y0, x1, y1 } : null;
  }

  function fit() {
    const r = svg.getBoundingClientRect();
    const b = bounds();
    if (!r.width || !r.height) return false;
    if (!b) { Object.assign(view, { x: 20, y: 20, k: 1 }); applyView(); return true; }
    const pad = 30;
    const k = Math.min((r.width - 2 * pad) / (b.x1 - b.x0), (r.height - 2 * pad) / (b.y1 - b.y0), 1);
    view.k = Math.max(ZOOM_MIN, Math.min(ZOOM_MAX, k));
    view.x = (r.width - (b.x1 - b.x0) * view.k) / 2 - b.x0 * view.k;
    view.y = (r.height - (b.y1 - b.y0) * view.k) / 2 - b.y0 * view.k;
    applyView();
    return true;
  }

  function zoomAt(factor, cx, cy) {
    const k = Math.max(ZOOM_MIN, Math.min(ZOOM_MAX, view.k * factor));
    view.x = cx - ((cx - view.x) * k) / view.k;
    view.y = cy - ((cy - view.y) * k) / view.k;
    view.k = k;
    applyView();
  }

  function centerOn(id) {
    const v = nodeViews.get(id);
    const r = svg.getBoundingClientRect();
    if (!v || !r.width) return;
    view.x = r.width / 2 - (v.x + NODE_W / 2) * view.k;
    view.y = r.height / 2 - (v.y + nodeHeight(v.data) / 2) * view.k;
    applyView();
  }

  let noticeTimer = null;
  function showNotice(text, level) {
    notice.textContent = text;
    notice.className = `fb-notice fb-notice-${level || "info"} fb-show`;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => notice.classList.remove("fb-show"), 6000);
  }

  // -- palette --------------------------------------------------------------------------------
  function drawPalette() {
    palette.replaceChildren();
    const title = html("div", { class: "fb-palette-title" }, palette);
    title.textContent = "Add a node";
    let category = null;
    for (const k of model.get("kinds") || []) {
      if (k.category !== category) {
        category = k.category;
        html("div", { class: "fb-palette-cat" }, palette).textContent = category;
      }
      const item = html("div", {
        class: "fb-palette-item", "data-kind": k.name, title: `${k.title}: ${k.description}`,
      }, palette);
      item.style.setProperty("--fb-kind", k.color);
      html("span", { class: "fb-palette-icon" }, item).textContent = k.icon;
      html("span", { class: "fb-palette-name" }, item).textContent = k.title;
    }
  }

  // -- nodes and edges ------------------------------------------------------------------------
  function buildNode(v) {
    const n = v.data;
    const g = v.g;
    g.replaceChildren();
    stats.nodeBuilds++;
    const h = nodeHeight(n);
    el("rect", { class: "fb-node-box", width: NODE_W, height: h, rx: 7 }, g);
    const strip = el("rect", { class: "fb-node-strip", width: 7, height: h, rx: 3 }, g);
    strip.style.fill = n.color;
    const icon = el("text", { class: "fb-node-icon", x: 24, y: 22, "text-anchor": "middle" }, g);
    icon.textContent = n.icon;
    el("text", { class: "fb-node-label", x: 40, y: 20 }, g).textContent = clip(n.label || n.id, 19);
    el("text", { class: "fb-node-sub", x: 40, y: 37 }, g).textContent =
      clip(n.summary ? `${n.summary}` : `${n.id} · ${n.title}`, 25);
    el("circle", { class: "fb-port-in", cx: 0, cy: IN_Y, r: 5 }, g);
    n.outcomes.forEach((outcome, i) => {
      const y = portY(i);
      el("line", { class: "fb-port-rule", x1: 10, x2: NODE_W, y1: y - ROW_H / 2, y2: y - ROW_H / 2 }, g);
      const label = el("text", { class: "fb-port-label", x: NODE_W - 12, y: y + 4, "text-anchor": "end" }, g);
      label.textContent = outcome;
      el("circle", {
        class: "fb-port-out", cx: NODE_W, cy: y, r: 6, "data-outcome": outcome, "data-node": n.id,
      }, g);
    });
    const badge = el("g", { class: "fb-badge", transform: `translate(${NODE_W - 4},-4)` }, g);
    el("circle", { r: 8 }, badge);
    el("text", { y: 4, "text-anchor": "middle" }, badge).textContent = "!";
    el("text", { class: "fb-entry-tag", x: 0, y: -6 }, g).textContent = "▶ start";
    const tip = el("title", {}, g);
    tip.textContent = `${n.label || n.id} (${n.id}, ${n.title})${n.summary ? "\n" + n.summary : ""}`;
    v.tip = tip;
  }

  function placeNode(v) {
    v.g.setAttribute("transform", `translate(${v.x},${v.y})`);
  }

  function edgeEnds(e) {
    const s = nodeViews.get(e.source), t = nodeViews.get(e.target);
    if (!s || !t) return null;
    const i = Math.max(0, s.data.outcomes.indexOf(e.outcome));
    return [s.x + NODE_W + 6, s.y + portY(i), t.x - 6, t.y + IN_Y]; // outside the ports
  }

  function routeEdge(e) {
    const ends = edgeEnds(e);
    if (!ends) return;
    const d = edgePath(...ends);
    e.path.setAttribute("d", d);
    e.hit.setAttribute("d", d);
  }

  function link(id, key) {
    if (!incident.has(id)) incident.set(id, new Set());
    incident.get(id).add(key);
  }

  // Keyed update: only nodes whose data changed are rebuilt; positions just move.
  function draw() {
    stats.renders++;
    const nodes = model.get("nodes") || [];
    const seen = new Set();
    for (const n of nodes) {
      seen.add(n.id);
      const { x, y, ...rest } = n;
      const sig = JSON.stringify(rest);
      let v = nodeViews.get(n.id);
      if (!v) {
        v = { g: el("g", { class: "fb-node", "data-node": n.id }, nodeLayer) };
        nodeViews.set(n.id, v);
      }
      v.data = n;
      if (v.sig !== sig) { v.sig = sig; buildNode(v); }
      const dragging = gesture && gesture.kind === "node" && gesture.id === n.id && gesture.moved;
      if (!dragging && (v.x !== x || v.y !== y)) { v.x = x; v.y = y; placeNode(v); }
    }
    for (const [id, v] of nodeViews) {
      if (!seen.has(id)) { v.g.remove(); nodeViews.delete(id); }
    }
    incident.clear();
    const keep = new Set();
    for (const [source, outcome, target] of model.get("edges") || []) {
      const key = `${source}\u0000${outcome}`;
      keep.add(key);
      let e = edgeViews.get(key);
      if (!e) {
        const g = el("g", { class: "fb-edge", "data-source": source, "data-outcome": outcome }, edgeLayer);
        e = { g, hit: el("path", { class: "fb-edge-hit" }, g), path: el("path", { class: "fb-edge-line" }, g) };
        edgeViews.set(key, e);
      }
      Object.assign(e, { key, source, outcome, target });
      e.g.setAttribute("data-target", target);
      link(source, key);
      link(target, key);
      routeEdge(e);
    }
    for (const [key, e] of edgeViews) {
      if (!keep.has(key)) { e.g.remove(); edgeViews.delete(key); }
    }
    decorate();
    publishStats();
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
      c.toggle("fb-selected", selection.node === id);
      c.toggle("fb-entry", entry === id);
      c.toggle("fb-error", !!issue && issue.severity === "error");
      c.toggle("fb-warning", !!issue && issue.severity === "warning");
      c.toggle("fb-active", active.has(id));
      c.toggle("fb-onpath", onPath.has(id));
      const extra = issue ? "\n" + issue.messages.join("\n") : "";
      const n = v.data;
      v.tip.textContent = `${n.label || n.id} (${n.id}, ${n.title})${n.summary ? "\n" + n.summary : ""}${extra}`;
    }
    const sel = selection.edge || [];
    for (const e of edgeViews.values()) {
      const selected = sel[0] === e.source && sel[1] === e.outcome;
      const lit = pathEdges.has(`${e.source}\u0000${e.target}`);
      e.g.classList.toggle("fb-selected", selected);
      e.g.classList.toggle("fb-onpath", lit);
      const marker = selected ? "selected" : lit ? "path" : "plain";
      e.path.setAttribute("marker-end", `url(#fb-arrow-${marker}-${uid})`);
    }
    root.dataset.selected = selection.node || "";
  }

  function select(sel) {
    selection = sel;
    decorate();
    send({ action: "select", ...sel });
  }

  // -- gestures -------------------------------------------------------------------------------
  function onMove(ev) {
    if (!gesture) return;
    stats.mousemoves++;
    const dx = ev.clientX - gesture.startX, dy = ev.clientY - gesture.startY;
    if (!gesture.moved && Math.hypot(dx, dy) < CLICK_SLOP) { publishStats(); return; }
    gesture.moved = true;
    if (gesture.kind === "node") {
      const v = nodeViews.get(gesture.id);
      if (v) {
        v.x = gesture.origX + dx / view.k;
        v.y = gesture.origY + dy / view.k;
        placeNode(v);
        for (const key of incident.get(gesture.id) || []) routeEdge(edgeViews.get(key));
        stats.dragFrames++;
      }
    } else if (gesture.kind === "pan") {
      view.x = gesture.origX + dx;
      view.y = gesture.origY + dy;
      applyView();
    } else if (gesture.kind === "wire") {
      const p = toWorld(ev.clientX, ev.clientY);
      wire.setAttribute("d", edgePath(gesture.x, gesture.y, p.x, p.y));
      const over = targetNode(ev);
      for (const v of nodeViews.values()) v.g.classList.toggle("fb-drop", v.g === over);
    } else if (gesture.kind === "palette") {
      gesture.ghost.style.left = `${ev.clientX + 8}px`;
      gesture.ghost.style.top = `${ev.clientY + 8}px`;
      gesture.ghost.style.display = "block";
    }
    publishStats();
  }

  function targetNode(ev) {
    const hit = document.elementFromPoint(ev.clientX, ev.clientY);
    return hit && hit.closest ? hit.closest(".fb-node") : null;
  }

  function onUp(ev) {
    const g = gesture;
    endGesture();
    if (!g) return;
    if (g.kind === "node") {
      const v = nodeViews.get(g.id);
      if (!g.moved) select({ node: g.id });
      else if (v) {
        v.x = Math.round(v.x); v.y = Math.round(v.y);
        placeNode(v);
        send({ action: "move", node: g.id, x: v.x, y: v.y });
      }
    } else if (g.kind === "pan") {
      if (!g.moved && (selection.node || selection.edge)) select({});
    } else if (g.kind === "wire") {
      wire.setAttribute("d", "");
      for (const v of nodeViews.values()) v.g.classList.remove("fb-drop");
      const over = targetNode(ev);
      if (over) {
        send({ action: "connect", source: g.source, outcome: g.outcome, target: over.dataset.node });
      }
    } else if (g.kind === "palette") {
      const r = svg.getBoundingClientRect();
      const inside = ev.clientX >= r.left && ev.clientX <= r.right && ev.clientY >= r.top && ev.clientY <= r.bottom;
      if (!g.moved) {
        const c = toWorld(r.left + r.width / 2, r.top + r.height / 2);
        send({ action: "add", kind: g.kindName, x: Math.round(c.x - NODE_W / 2), y: Math.round(c.y - HEAD_H / 2) });
      } else if (inside) {
        const p = toWorld(ev.clientX, ev.clientY);
        send({ action: "add", kind: g.kindName, x: Math.round(p.x - NODE_W / 2), y: Math.round(p.y - HEAD_H / 2) });
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
    if (gesture && gesture.ghost) gesture.ghost.remove();
    gesture = null;
    window.removeEventListener("mousemove", onMove);
    window.removeEventListener("mouseup", onUp);
    svg.classList.remove("fb-panning", "fb-wiring");
  }
  cleanups.push(endGesture);

  svg.addEventListener("mousedown", (ev) => {
    if (ev.button !== 0) return;
    root.focus({ preventScroll: true });
    ev.preventDefault();
    const port = ev.target.closest(".fb-port-out");
    const node = ev.target.closest(".fb-node");
    const edge = ev.target.closest(".fb-edge");
    if (port) {
      const v = nodeViews.get(port.dataset.node);
      const i = v.data.outcomes.indexOf(port.dataset.outcome);
      svg.classList.add("fb-wiring");
      beginGesture({ kind: "wire", source: v.data.id, outcome: port.dataset.outcome,
        x: v.x + NODE_W, y: v.y + portY(i) }, ev);
    } else if (node) {
      const v = nodeViews.get(node.dataset.node);
      beginGesture({ kind: "node", id: v.data.id, origX: v.x, origY: v.y }, ev);
    } else if (edge) {
      select({ edge: [edge.dataset.source, edge.dataset.outcome] });
    } else {
      svg.classList.add("fb-panning");
      beginGesture({ kind: "pan", origX: view.x, origY: view.y }, ev);
    }
  });

  palette.addEventListener("mousedown", (ev) => {
    const item = ev.target.closest(".fb-palette-item");
    if (!item || ev.button !== 0) return;
    ev.preventDefault();
    root.focus({ preventScroll: true });
    const ghost = html("div", { class: "fb-ghost" }, document.body);
    ghost.textContent = item.textContent;
    beginGesture({ kind: "palette", kindName: item.dataset.kind, ghost }, ev);
  });

  svg.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const r = svg.getBoundingClientRect();
    zoomAt(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });

  root.addEventListener("keydown", (ev) => {
    const key = ev.key;
    const mod = ev.ctrlKey || ev.metaKey;
    let handled = true;
    if (mod && (key === "z" || key === "Z")) send({ action: ev.shiftKey ? "redo" : "undo" });
    else if (mod && (key === "y" || key === "Y")) send({ action: "redo" });
    else if (key === "Delete" || key === "Backspace") {
      if (selection.node) send({ action: "delete", node: selection.node });
      else if (selection.edge) send({ action: "disconnect", source: selection.edge[0], outcome: selection.edge[1] });
      else handled = false;
    } else if (!mod && (key === "f" || key === "F")) fit();
    else if (key === "Escape") select({});
    else handled = false;
    if (handled) { ev.preventDefault(); ev.stopPropagation(); }
  });

  buttons.fit.addEventListener("click", () => fit());
  const zoomCenter = (f) => { const r = svg.getBoundingClientRect(); zoomAt(f, r.width / 2, r.height / 2); };
  buttons["zoom-in"].addEventListener("click", () => zoomCenter(1.25));
  buttons["zoom-out"].addEventListener("click", () => zoomCenter(0.8));

  // -- model wiring ---------------------------------------------------------------------------
  const onData = () => draw();
  const onSelection = () => { selection = model.get("selection") || {}; decorate(); };
  const onDecor = () => decorate();
  const onHeight = () => { root.style.height = `${model.get("height")}px`; };
  const onKinds = () => drawPalette();
  const onCustom = (msg) => {
    if (!msg || typeof msg !== "object") return;
    if (msg.action === "fit") fit();
    else if (msg.action === "focus") centerOn(msg.node);
    else if (msg.action === "notice") showNotice(msg.text, msg.level);
  };
  const handlers = [
    ["change:nodes", onData], ["change:edges", onData], ["change:selection", onSelection],
    ["change:issues", onDecor], ["change:highlight", onDecor], ["change:entry", onDecor],
    ["change:height", onHeight], ["change:kinds", onKinds], ["msg:custom", onCustom],
  ];
  for (const [name, fn] of handlers) model.on(name, fn);
  cleanups.push(() => { for (const [name, fn] of handlers) model.off(name, fn); });

  onHeight();
  drawPalette();
  draw();
  applyView();
  root.dataset.firstDrawMs = (performance.now() - t0).toFixed(1);

  // Fit once the stage has a size (it may not be in the page yet when render runs).
  const ro = new ResizeObserver(() => { if (!fitted) fitted = fit(); });
  ro.observe(stage);
  cleanups.push(() => ro.disconnect());
  requestAnimationFrame(() => {
    if (!fitted) fitted = fit();
    requestAnimationFrame(() => {
      root.dataset.interactiveMs = (performance.now() - t0).toFixed(1);
      root.dataset.ready = "1";
    });
  });

  return () => { for (const fn of cleanups) fn(); };
}

export default { render };
