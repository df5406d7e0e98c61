/*
 * app.js - the imgwatch dashboard: the Live Assessment (images sorted by
 * risk, counts by severity, filters) and the image page (findings with
 * remediation, workloads, lineage, tag -> digest timeline next to the
 * runs).  Read-only; polls the API with ETags so it updates without a
 * reload.  Builds the DOM with createElement: no innerHTML of data.
 */
"use strict";

const SEVERITIES = ["critical", "high", "medium", "low", "info"];
const RANK = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
const POLL_MS = 1000;

const state = { doc: null, etag: null, filters: { severity: "", namespace: "", registry: "", check: "", q: "" } };

/* h("div", {class: "x"}, "text", child, ...) */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return el;
}

function shortDigest(d) {
  if (!d) return "—";
  const i = d.indexOf(":");
  return i >= 0 ? d.slice(0, i + 1) + d.slice(i + 1, i + 13) : d.slice(0, 19);
}

function when(ms) {
  if (ms === null || ms === undefined) return "now";
  const d = new Date(ms);
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function ago(ms) {
  const s = Math.max(0, (Date.now() - ms) / 1000);
  if (s < 60) return Math.round(s) + "s ago";
  if (s < 3600) return Math.round(s / 60) + "m ago";
  if (s < 86400) return Math.round(s / 3600) + "h ago";
  return Math.round(s / 86400) + "d ago";
}

function duration(s) {
  if (s < 60) return s.toFixed(1) + " s";
  if (s < 3600) return (s / 60).toFixed(1) + " min";
  return (s / 3600).toFixed(1) + " h";
}

function sevBadge(sev) {
  return h("span", { class: "sev " + (sev || "none") }, sev || "ok");
}

function imageUrl(ref) {
  return "/images/" + encodeURIComponent(ref);
}

function setLive(ok, text) {
  const el = document.getElementById("live");
  el.className = "live " + (ok ? "on" : "off");
  document.getElementById("live-text").textContent = text;
}

/* Risk order: worst severity, then number of workloads, then name. */
function byRisk(a, b) {
  const ra = RANK[a.severity] ?? 9, rb = RANK[b.severity] ?? 9;
  if (ra !== rb) return ra - rb;
  const wa = (a.workloads || []).length, wb = (b.workloads || []).length;
  if (wa !== wb) return wb - wa;
  return (a.reference || "").localeCompare(b.reference || "");
}

function namespacesOf(img) {
  return [...new Set((img.workloads || []).map((w) => w.namespace).filter(Boolean))];
}

function checksOf(img) {
  return [...new Set((img.findings || []).map((f) => f.check))];
}

function matches(img) {
  const f = state.filters;
  if (f.severity && !(img.findings || []).some((x) => x.severity === f.severity)) return false;
  if (f.namespace && !namespacesOf(img).includes(f.namespace)) return false;
  if (f.registry && img.registry !== f.registry) return false;
  if (f.check && !checksOf(img).includes(f.check)) return false;
  if (f.q && !(img.reference || "").toLowerCase().includes(f.q.toLowerCase())) return false;
  return true;
}

function select(name, label, values) {
  const sel = h("select", { "aria-label": label, "data-filter": name,
    onchange: (e) => { state.filters[name] = e.target.value; renderList(); } },
    h("option", { value: "" }, "all " + label));
  for (const v of values) sel.appendChild(h("option", { value: v, selected: state.filters[name] === v }, v));
  return sel;
}

function renderList() {
  const app = document.getElementById("app");
  const doc = state.doc;
  if (!doc) return;
  const images = (doc.images || []).slice().sort(byRisk);
  const sum = doc.summary || {};
  const shown = images.filter(matches);

  const cards = h("div", { class: "cards" },
    SEVERITIES.map((s) => h("div", {
      class: "card sev-" + s + (state.filters.severity === s ? " active" : ""), role: "button", "data-severity": s,
      onclick: () => { state.filters.severity = state.filters.severity === s ? "" : s; renderList(); } },
    h("div", { class: "n" }, sum[s] ?? 0), h("div", { class: "k" }, s))),
    h("div", { class: "card static" }, h("div", { class: "n" }, sum.images ?? images.length), h("div", { class: "k" }, "images")),
    h("div", { class: "card static" }, h("div", { class: "n" }, sum.containers ?? 0), h("div", { class: "k" }, "containers")));

  const all = (fn) => [...new Set(images.flatMap(fn))].filter(Boolean).sort();
  const filters = h("div", { class: "filters" },
    select("severity", "severities", SEVERITIES),
    select("namespace", "namespaces", all(namespacesOf)),
    select("registry", "registries", all((i) => [i.registry])),
    select("check", "checks", all(checksOf)),
    h("input", { type: "search", placeholder: "filter images…", value: state.filters.q, "aria-label": "search",
      oninput: (e) => { state.filters.q = e.target.value; renderRows(tbody); } }),
    h("span", { class: "count", id: "count" }, shown.length + " of " + images.length + " images"));

  const tbody = h("tbody", { id: "rows" });
  const table = h("table", { id: "images" },
    h("thead", {}, h("tr", {}, ["Severity", "Image", "Running", "Expected", "Workloads", "Findings"].map((t) => h("th", {}, t)))),
    tbody);
  app.replaceChildren(
    h("div", { class: "meta" }, "Generated " + (doc.generatedAt || "?") + (doc.source ? " · source " + doc.source : "")),
    cards, filters, images.length ? table : h("div", { class: "empty" }, "No running images yet."));
  renderRows(tbody);
}

function renderRows(tbody) {
  const images = (state.doc.images || []).slice().sort(byRisk).filter(matches);
  const count = document.getElementById("count");
  if (count) count.textContent = images.length + " of " + (state.doc.images || []).length + " images";
  tbody.replaceChildren(...images.map((img) => {
    const running = img.runningDigests || [];
    const stale = img.registryDigest && running.some((d) => d !== img.registryDigest);
    return h("tr", { "data-reference": img.reference, "data-severity": img.severity || "" },
      h("td", {}, sevBadge(img.severity)),
      h("td", {}, h("a", { class: "ref", href: imageUrl(img.reference) }, img.reference)),
      h("td", {}, running.length ? running.map((d) => h("div", { class: "digest" + (stale ? " bad" : ""), title: d }, shortDigest(d))) : h("span", { class: "muted" }, "—")),
      h("td", {}, h("span", { class: "digest", title: img.registryDigest || "" }, shortDigest(img.registryDigest))),
      h("td", {}, (img.workloads || []).slice(0, 3).map((w) => h("div", {}, w.namespace + "/" + w.kind + "/" + w.name)),
        (img.workloads || []).length > 3 ? h("div", { class: "muted" }, "+" + ((img.workloads || []).length - 3) + " more") : null),
      h("td", {}, (img.findings || []).map((f) => h("span", { class: "chip " + f.severity, title: f.message || "" }, f.check))));
  }));
}

function kv(pairs) {
  return h("div", { class: "kv" }, pairs.flatMap(([k, v]) => [h("div", { class: "k" }, k), h("div", {}, v || h("span", { class: "muted" }, "—"))]));
}

function renderImage(ref, data) {
  const app = document.getElementById("app");
  const img = data.image || {};
  const hist = data.history || { tags: [], runs: [], findings: [] };
  const src = img.source || {};
  const link = src.url && /^https?:\/\//.test(src.url) ? h("a", { href: src.url, rel: "noopener noreferrer" }, src.url) : src.url;

  const findings = (img.findings || []).map((f) => h("div", { class: "finding " + f.severity },
    h("div", { class: "title" }, sevBadge(f.severity), h("span", {}, f.check)),
    h("div", { class: "msg" }, f.message || ""),
    f.remediation ? h("pre", { class: "fix" }, f.remediation) : null,
    (f.workloads || []).length ? h("div", { class: "muted" }, "workloads: " + f.workloads.join(", ")) : null));

  const workloads = (img.workloads || []).length
    ? h("table", {}, h("thead", {}, h("tr", {}, ["Namespace", "Kind", "Name", "Container", "Pods", "Nodes", "Pull policy"].map((t) => h("th", {}, t)))),
      h("tbody", {}, img.workloads.map((w) => h("tr", {}, h("td", {}, w.namespace || ""), h("td", {}, w.kind || ""), h("td", {}, w.name || ""),
        h("td", {}, w.container || ""), h("td", {}, String(w.pods ?? "")), h("td", {}, (w.nodes || []).join(", ")), h("td", {}, w.imagePullPolicy || "")))))
    : h("div", { class: "empty" }, "No workload runs this image now.");

  const tags = hist.tags || [];
  const timeline = tags.length
    ? h("ul", { class: "timeline", id: "tag-timeline" }, tags.map((t, i) => h("li", { class: (t.rollback ? "rollback" : "") + (i === 0 ? " current" : "") },
      h("div", { class: "digest", title: t.digest }, t.digest),
      h("div", { class: "when" }, (i === 0 ? "current · " : "") + "since " + when(t.firstSeen) + " · last seen " + ago(t.lastSeen)
        + (t.rollback ? " · ROLLBACK from " + shortDigest(t.previousDigest) : "")))))
    : h("div", { class: "empty" }, "No tag observation yet.");

  const runs = hist.runs || [];
  const runList = runs.length
    ? h("ul", { class: "timeline", id: "run-timeline" }, runs.map((r) => h("li", { class: r.endedAt ? "" : "current" },
      h("div", {}, r.workload + " · " + r.container),
      h("div", { class: "digest", title: r.digest }, shortDigest(r.digest)),
      h("div", { class: "when" }, when(r.startedAt) + " → " + (r.endedAt ? when(r.endedAt) : "running")))))
    : h("div", { class: "empty" }, "No run recorded yet.");

  const past = (hist.findings || []).filter((f) => f.resolvedAt);
  const resolved = past.length
    ? h("table", {}, h("thead", {}, h("tr", {}, ["Check", "Opened", "Resolved", "Open for", "Resolved by"].map((t) => h("th", {}, t)))),
      h("tbody", {}, past.map((f) => h("tr", {}, h("td", {}, f.check), h("td", {}, when(f.openedAt)), h("td", {}, when(f.resolvedAt)),
        h("td", {}, duration((f.resolvedAt - f.openedAt) / 1000)), h("td", {}, f.resolution || "")))))
    : h("div", { class: "empty" }, "Nothing resolved yet.");

  app.replaceChildren(
    h("a", { class: "back", href: "/" }, "← all images"),
    h("h1", { id: "image-title" }, ref),
    h("div", { class: "meta" }, sevBadge(img.severity), " running ",
      h("span", { class: "digest" }, (img.runningDigests || []).map(shortDigest).join(", ") || "—"),
      " · registry has ", h("span", { class: "digest" }, shortDigest(img.registryDigest))),
    h("h2", {}, "Findings"), ...(findings.length ? findings : [h("div", { class: "empty" }, "No open finding.")]),
    h("h2", {}, "Workloads"), workloads,
    h("h2", {}, "Lineage"), kv([["repository", (img.registry || "") + "/" + (img.repository || "")], ["source", link],
      ["revision", src.revision], ["authors", src.authors], ["created", src.created]]),
    h("div", { class: "grid2" },
      h("section", {}, h("h2", {}, "Tag → digest timeline"), timeline),
      h("section", {}, h("h2", {}, "Runs"), runList)),
    h("h2", {}, "Resolved findings"), resolved);
}

async function fetchJSON(url, etag) {
  const headers = etag ? { "If-None-Match": etag } : {};
  const r = await fetch(url, { headers, credentials: "same-origin", cache: "no-store" });
  if (r.status === 304) return { notModified: true };
  if (!r.ok) throw new Error(url + ": HTTP " + r.status);
  return { etag: r.headers.get("ETag"), body: await r.json() };
}

async function pollList() {
  try {
    const r = await fetchJSON("/api/v1/assessment", state.etag);
    if (!r.notModified) {
      state.doc = r.body;
      state.etag = r.etag;
      renderList();
    }
    setLive(true, "live · " + new Date().toLocaleTimeString());
  } catch (e) {
    setLive(false, "disconnected, retrying");
  }
  setTimeout(pollList, POLL_MS);
}

async function pollImage(ref) {
  try {
    const r = await fetchJSON("/api/v1/images/" + encodeURIComponent(ref));
    renderImage(ref, r.body);
    setLive(true, "live · " + new Date().toLocaleTimeString());
  } catch (e) {
    setLive(false, String(e.message || e));
    if (!document.getElementById("image-title"))
      document.getElementById("app").replaceChildren(h("div", { class: "error" }, "Could not load " + ref + ": " + e.message));
  }
  setTimeout(() => pollImage(ref), POLL_MS * 2);
}

function main() {
  const p = location.pathname;
  if (p.startsWith("/images/")) {
    const ref = decodeURIComponent(p.slice(8));
    document.title = ref + " · imgwatch";
    pollImage(ref);
  } else {
    pollList();
  }
}

main();
