// The inspector page: deliveries from /_inlet/events (Server-Sent Events, which replay what the
// server keeps on connecting), a delivery's detail, resend, and the outbound attempts.
// Everything a sender sent is shown with textContent, never parsed as HTML.
"use strict";

const REDACTED = "[redacted]";
const deliveries = new Map(); // n -> record
let selected = null;

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function time(ms) {
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

function outcomeCell(r) {
  const cell = el("td", { class: "outcome" },
    el("span", { class: "badge " + r.outcome, text: r.outcome }));
  if (r.problem) cell.append(el("span", { class: "problem", text: r.problem }));
  if (r.resendOf) cell.append(el("span", { class: "resend-of", text: "resend of #" + r.resendOf }));
  return cell;
}

function row(r) {
  const resend = el("button", { class: "resend", text: "Resend", title: "Send the same bytes and headers again" });
  resend.addEventListener("click", (e) => { e.stopPropagation(); resendDelivery(r.n, resend); });
  const tr = el("tr", { class: "delivery", "data-n": String(r.n), "data-outcome": r.outcome, "data-source": r.source || "" },
    el("td", { class: "num", text: String(r.n) }),
    el("td", { text: time(r.at), title: r.method + " " + r.path }),
    el("td", { text: r.source || "–" }),
    el("td", { class: "type", text: r.type || "–", title: r.type || "" }),
    el("td", { class: "id", text: r.id || "–", title: r.id || "" }),
    outcomeCell(r),
    el("td", { class: "num status", text: String(r.status) }),
    el("td", { class: "num", text: r.ms.toFixed(1) }),
    el("td", {}, r.source ? resend : null));
  tr.addEventListener("click", () => select(r.n));
  return tr;
}

function add(r) {
  if (deliveries.has(r.n)) return;
  deliveries.set(r.n, r);
  const body = document.querySelector("#deliveries tbody");
  body.prepend(row(r));
  while (body.children.length > 200) {
    const last = body.lastElementChild;
    deliveries.delete(Number(last.dataset.n));
    last.remove();
  }
  document.getElementById("no-deliveries").hidden = true;
}

function json(value) {
  return el("pre", { text: JSON.stringify(value, null, 2) });
}

function select(n) {
  const r = deliveries.get(n);
  if (!r) return;
  selected = n;
  for (const tr of document.querySelectorAll("tr.delivery")) tr.classList.toggle("selected", Number(tr.dataset.n) === n);
  document.getElementById("detail-title").textContent = "#" + r.n + " " + r.method + " " + r.path;
  const detail = document.getElementById("detail");
  const summary = el("p", {},
    el("span", { class: "badge " + r.outcome, text: r.outcome }),
    r.problem ? el("span", { class: "problem", text: r.problem }) : null,
    " " + r.status + " in " + r.ms.toFixed(1) + " ms, " + r.bytes + " bytes",
    r.resendOf ? el("span", { class: "resend-of", text: "resend of #" + r.resendOf }) : null);
  const headers = el("dl", { class: "headers", id: "headers" });
  for (const [name, value] of r.headers) {
    headers.append(el("dt", { text: name }),
      el("dd", { class: value === REDACTED ? "redacted" : "", text: value, "data-header": name }));
  }
  const parts = [summary];
  if (r.detail) parts.push(el("p", { class: "detail", text: r.detail }));
  parts.push(el("h2", { text: "Request headers" }), headers);
  parts.push(el("h2", { text: r.envelopes.length === 1 ? "Envelope (what was queued)" : "Envelopes (what was queued)" }));
  if (r.envelopes.length) for (const e of r.envelopes) parts.push(json(e));
  else parts.push(el("p", { class: "empty", text: r.outcome === "duplicate" ? "Nothing queued: an earlier delivery with this key was." : "Nothing queued." }));
  if (r.reply) parts.push(el("h2", { text: "Answer" }), json(r.reply));
  detail.replaceChildren(...parts);
}

async function resendDelivery(n, button) {
  button.disabled = true;
  try {
    const response = await fetch("/_inlet/api/deliveries/" + n + "/resend", {
      method: "POST", headers: { "X-Inlet-Inspector": "resend" },
    });
    if (response.ok) {
      const r = await response.json();
      add(r);
      select(r.n);
    } else {
      button.title = await response.text();
      button.textContent = "Failed";
    }
  } finally {
    button.disabled = false;
  }
}

function connect() {
  const live = document.getElementById("live");
  const events = new EventSource("/_inlet/events");
  events.addEventListener("open", () => { live.className = "on"; live.textContent = "live"; });
  events.addEventListener("error", () => { live.className = "off"; live.textContent = "reconnecting…"; });
  events.addEventListener("delivery", (e) => { add(JSON.parse(e.data)); refreshOutbound(); });
}

let outboundTimer = null;
async function refreshOutbound() {
  clearTimeout(outboundTimer);
  outboundTimer = setTimeout(refreshOutbound, 3000);
  let data;
  try {
    data = await (await fetch("/_inlet/api/outbound")).json();
  } catch (e) {
    return;
  }
  const box = document.getElementById("outbound");
  if (!data.enabled) {
    box.replaceChildren(el("p", { class: "empty", text: "Outbound is off (--no-outbound)." }));
    return;
  }
  if (data.error) {
    box.replaceChildren(el("p", { class: "empty", text: "The outbound store could not be read: " + data.error }));
    return;
  }
  if (!data.attempts.length && !data.tasks.length) {
    box.replaceChildren(el("p", { class: "empty", text: "No outbound deliveries yet (inlet endpoints add, inlet publish)." }));
    return;
  }
  const attempts = el("table", { id: "attempts" },
    el("thead", {}, el("tr", {}, ...["time", "endpoint", "event", "attempt", "status", "verdict", "class", "ms"].map((h) => el("th", { text: h })))));
  const tbody = el("tbody");
  for (const a of data.attempts) {
    tbody.append(el("tr", {},
      el("td", { text: time(a.at) }), el("td", { class: "id", text: a.endpoint_id }),
      el("td", { class: "id", text: a.event_id }), el("td", { class: "num", text: String(a.number) }),
      el("td", { class: "num", text: a.status == null ? "–" : String(a.status) }),
      el("td", {}, el("span", { class: "badge " + (a.verdict === "delivered" ? "enqueued" : "rejected"), text: a.verdict })),
      el("td", { text: a.class }), el("td", { class: "num", text: String(a.latency_ms) })));
  }
  attempts.append(tbody);
  const tasks = el("table", { id: "tasks" },
    el("thead", {}, el("tr", {}, ...["created", "endpoint", "event", "type", "attempt", "state", "why parked"].map((h) => el("th", { text: h })))));
  const tasksBody = el("tbody");
  for (const t of data.tasks) {
    tasksBody.append(el("tr", {},
      el("td", { text: time(t.createdAt) }), el("td", { class: "id", text: t.endpointId }),
      el("td", { class: "id", text: t.eventId }), el("td", { class: "type", text: t.type }),
      el("td", { class: "num", text: String(t.attempt) }), el("td", { text: t.state }),
      el("td", { text: t.parkedReason || "" })));
  }
  tasks.append(tasksBody);
  box.replaceChildren(el("h2", { text: "Attempts" }), attempts, el("h2", { text: "Tasks" }), tasks);
}

connect();
refreshOutbound();
