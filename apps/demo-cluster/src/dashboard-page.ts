/**
 * The dashboard: one self-contained HTML page (inline CSS and JS, no external resources). It
 * opens a WebSocket to the supervisor, which pushes the cluster's state whenever it changes, and
 * posts the buttons' actions with the per-run token that the page was served with.
 *
 * Stable test ids: `leader`, `node-<id>` (with `data-role`, `data-term`, `data-state`),
 * `kill-<id>`, `restart-<id>`, `isolate-<id>`, `heal-<id>`, `timeline`, `kv-key`, `kv-value`,
 * `kv-put`, `kv-burst`, `kv-result`, `connection`.
 */
export function dashboardPage(token: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tinyraft demo cluster</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2430; background: #f5f6f8; }
  body { margin: 0 auto; max-width: 1100px; padding: 1.5rem; }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
  .sub { color: #5b6573; margin-bottom: 1.25rem; }
  table { border-collapse: collapse; width: 100%; background: white; border-radius: 8px; overflow: hidden; box-shadow: 0 1px 3px #0002; }
  th, td { white-space: nowrap; padding: .5rem .7rem; text-align: left; border-bottom: 1px solid #e6e8eb; font-variant-numeric: tabular-nums; }
  th { background: #eef0f3; font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: #5b6573; }
  tr[data-role="leader"] td:first-child { border-left: 4px solid #1f9d55; }
  tr[data-state="down"] { color: #a0a7b1; }
  .role { font-weight: 600; }
  .role.leader { color: #1f9d55; } .role.candidate, .role.pre-candidate { color: #c77d00; } .role.follower { color: #2d5fa8; }
  .iso { color: #c0392b; font-weight: 600; font-size: .8rem; }
  button { font: inherit; font-size: .85rem; padding: .25rem .6rem; margin-right: .25rem; border-radius: 5px; border: 1px solid #b8bec7; background: white; cursor: pointer; }
  button:disabled { opacity: .4; cursor: default; }
  button.danger { border-color: #c0392b; color: #c0392b; }
  section { margin-top: 1.5rem; }
  h2 { font-size: 1rem; margin: 0 0 .5rem; }
  #timeline { list-style: none; padding: 0; margin: 0; max-height: 22rem; overflow: auto; background: white; border-radius: 8px; box-shadow: 0 1px 3px #0002; }
  #timeline li { padding: .35rem .7rem; border-bottom: 1px solid #eef0f3; font-size: .9rem; }
  #timeline time { color: #7a8391; margin-right: .6rem; font-variant-numeric: tabular-nums; }
  #timeline li.leader { background: #eefaf2; }
  #timeline li.kill, #timeline li.exit, #timeline li.error { background: #fdf0ee; }
  .kv input { font: inherit; padding: .25rem .4rem; margin-right: .25rem; }
  #connection { float: right; font-size: .8rem; color: #7a8391; }
</style>
</head>
<body>
<span id="connection" data-testid="connection">connecting…</span>
<h1>tinyraft demo cluster</h1>
<div class="sub">Leader: <strong data-testid="leader" id="leader">none</strong> · term <span id="term">-</span></div>
<table>
  <thead><tr><th>node</th><th>process</th><th>role</th><th>term</th><th>leader</th><th>heartbeat</th><th>last</th><th>commit</th><th>applied</th><th>actions</th></tr></thead>
  <tbody id="nodes"></tbody>
</table>
<section class="kv">
  <h2>Key-value store</h2>
  <input data-testid="kv-key" id="kv-key" placeholder="key" value="greeting">
  <input data-testid="kv-value" id="kv-value" placeholder="value" value="hello">
  <button data-testid="kv-put" id="kv-put">put</button>
  <button data-testid="kv-burst" id="kv-burst">write 100 keys</button>
  <span data-testid="kv-result" id="kv-result"></span>
</section>
<section>
  <h2>Timeline</h2>
  <ul id="timeline" data-testid="timeline"></ul>
</section>
<script>
"use strict";
const token = ${JSON.stringify(token)};
const $ = (id) => document.getElementById(id);
const el = (tag, props, children) => {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children || []) e.append(c);
  return e;
};
const pad = (n, w) => String(n).padStart(w || 2, "0");
const clock = (ms) => { const d = new Date(ms); return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." + pad(d.getMilliseconds(), 3); };
const ago = (ms) => ms === null ? "-" : ms < 10000 ? ms + " ms" : Math.round(ms / 1000) + " s";

async function post(path, body) {
  const res = await fetch(path, { method: "POST", headers: { "X-Dashboard-Token": token, "Content-Type": "application/json" }, body: JSON.stringify(body || {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(text);
  return text ? JSON.parse(text) : {};
}
async function act(id, action) {
  try { await post("/api/nodes/" + id + "/" + action); }
  catch (e) { $("kv-result").textContent = action + " node " + id + " failed: " + e.message; }
}

function button(label, testid, enabled, onclick, danger) {
  const b = el("button", { textContent: label, disabled: !enabled, className: danger ? "danger" : "" });
  b.dataset.testid = testid;
  b.onclick = onclick;
  return b;
}

function render(s) {
  const lead = s.nodes.find((n) => n.id === s.leader);
  $("leader").textContent = lead ? "node " + lead.id : "none";
  $("leader").dataset.leader = String(s.leader);
  $("term").textContent = lead ? String(lead.term) : "-";
  const rows = s.nodes.map((n) => {
    const up = n.state === "up";
    const tr = el("tr", {}, [
      el("td", { textContent: String(n.id) }),
      el("td", { textContent: n.state + (n.pid ? " (pid " + n.pid + ")" : "") }),
      el("td", {}, [el("span", { className: "role " + (n.role || ""), textContent: n.role || "-" }), n.isolated ? el("span", { className: "iso", textContent: " isolated" }) : ""]),
      el("td", { textContent: n.term === null ? "-" : String(n.term) }),
      el("td", { textContent: n.leader ? String(n.leader) : "-" }),
      el("td", { textContent: ago(n.heartbeatAgoMs) }),
      el("td", { textContent: n.lastIndex === null ? "-" : String(n.lastIndex) }),
      el("td", { textContent: n.commit === null ? "-" : String(n.commit) }),
      el("td", { textContent: n.applied === null ? "-" : String(n.applied) }),
      el("td", {}, [
        button("kill", "kill-" + n.id, n.state !== "down", () => act(n.id, "kill"), true),
        button("restart", "restart-" + n.id, n.state === "down", () => act(n.id, "restart")),
        button("isolate", "isolate-" + n.id, up && !n.isolated, () => act(n.id, "isolate")),
        button("heal", "heal-" + n.id, up && n.isolated, () => act(n.id, "heal")),
      ]),
    ]);
    tr.dataset.testid = "node-" + n.id;
    tr.dataset.role = n.role || "none";
    tr.dataset.term = n.term === null ? "" : String(n.term);
    tr.dataset.state = n.state;
    return tr;
  });
  $("nodes").replaceChildren(...rows);
  const items = s.events.slice().reverse().map((e) => el("li", { className: e.kind }, [el("time", { textContent: clock(e.at) }), e.message]));
  $("timeline").replaceChildren(...items);
}

function connect() {
  const ws = new WebSocket("ws://" + location.host + "/ws");
  ws.onopen = () => { $("connection").textContent = "live"; };
  ws.onmessage = (m) => render(JSON.parse(m.data));
  ws.onclose = () => { $("connection").textContent = "disconnected, retrying…"; setTimeout(connect, 1000); };
}

$("kv-put").onclick = async () => {
  try {
    const r = await post("/api/kv", { key: $("kv-key").value, value: $("kv-value").value });
    $("kv-result").textContent = "stored (" + r.ms + " ms)";
  } catch (e) { $("kv-result").textContent = "put failed: " + e.message; }
};
$("kv-burst").onclick = async () => {
  try {
    const r = await post("/api/kv/burst", { count: 100 });
    $("kv-result").textContent = r.count + " keys stored in " + r.ms + " ms";
  } catch (e) { $("kv-result").textContent = "burst failed: " + e.message; }
};
connect();
</script>
</body>
</html>
`;
}
