// flowbuilder call log: one row per call (newest first), opened into its steps in order.
// The kernel sends the calls as data (the "calls_data" trait); the rows a user opened stay open
// as calls come in. "Show path" asks the kernel to light that call's path on the canvas.

function html(tag, attrs = {}, parent = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

function render({ model, el }) {
  const root = html("div", { class: "fb-log" }, el);
  const title = html("div", { class: "fb-log-title" }, root);
  const list = html("div", { class: "fb-log-list" }, root);
  const open = new Set(); // callids the user opened
  const closed = new Set(); // callids the user closed (the newest opens by itself otherwise)

  function draw() {
    title.textContent = model.get("summary") || "Live calls";
    const calls = model.get("calls_data") || [];
    list.replaceChildren();
    if (!calls.length) {
      html("div", { class: "fb-log-empty" }, list).textContent = "No calls yet.";
      return;
    }
    calls.forEach((call, i) => {
      const isOpen = open.has(call.callid) || (i === 0 && !closed.has(call.callid));
      const row = html("div", { class: `fb-log-call fb-log-${call.status}`, "data-callid": call.callid }, list);
      const head = html("div", { class: "fb-log-head", role: "button", tabindex: "0", "aria-expanded": String(isOpen) }, row);
      html("span", { class: "fb-log-toggle" }, head).textContent = isOpen ? "▾" : "▸";
      html("span", { class: "fb-log-time" }, head).textContent = call.started;
      html("span", { class: "fb-log-id" }, head).textContent = `call ${call.callid}`;
      if (call.caller) html("span", { class: "fb-log-caller" }, head).textContent = `from ${call.caller}`;
      html("span", { class: "fb-log-state" }, head).textContent =
        call.status === "live" ? `● on ${call.node || "…"}` : `ended${call.call_status ? ` (${call.call_status.toLowerCase()})` : ""}`;
      html("span", { class: "fb-log-count" }, head).textContent = `${call.steps.length} step${call.steps.length === 1 ? "" : "s"}`;
      const show = html("button", { class: "fb-log-show", type: "button", title: "Light this call's path on the canvas" }, head);
      show.textContent = "Show path";
      show.addEventListener("click", (ev) => { ev.stopPropagation(); model.send({ action: "show", callid: call.callid }); });
      const toggle = () => {
        if (isOpen) { open.delete(call.callid); closed.add(call.callid); }
        else { open.add(call.callid); closed.delete(call.callid); }
        draw();
      };
      head.addEventListener("click", toggle);
      head.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggle(); } });
      if (!isOpen) return;
      const table = html("table", { class: "fb-log-steps" }, row);
      const headRow = html("tr", {}, table);
      for (const h of ["#", "time", "node", "sent", "result", "passed through", "ms"]) html("th", {}, headRow).textContent = h;
      call.steps.forEach((s, n) => {
        const tr = html("tr", {}, table);
        html("td", {}, tr).textContent = String(n + 1);
        html("td", {}, tr).textContent = s.time;
        html("td", { class: "fb-log-node" }, tr).textContent = s.node || "—";
        html("td", {}, tr).textContent = s.sent || (s.error ? "(error path)" : "—");
        html("td", {}, tr).textContent = s.result;
        html("td", { class: "fb-log-passed" }, tr).textContent = s.passed.join(" → ");
        html("td", {}, tr).textContent = s.ms.toFixed(1);
        if (s.error) {
          const err = html("tr", { class: "fb-log-error" }, table);
          html("td", { colspan: 7 }, err).textContent = `⚠ ${s.error}`;
        }
      });
    });
  }

  model.on("change:calls_data", draw);
  model.on("change:summary", draw);
  draw();
  return () => { model.off("change:calls_data", draw); model.off("change:summary", draw); };
}

export default { render };
