// Outbound campaigns: create, upload a call list (with its progress and the load report),
// start, pause, stop, stats.

import { csrfToken, get, post } from "./api.js";
import { $, fill, h } from "./dom.js";

const count = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;

export async function startCampaigns() {
  $("campaign-create").onsubmit = create;
  $("campaign-upload").onsubmit = upload;
  await Promise.all([loadCampaigns(), loadOutboundQueues()]);
}

// The rules' outbound queues, offered as the campaign's queue (an inbound one is refused).
async function loadOutboundQueues() {
  const queues = (await get("/api/queues")).items.filter((q) => q.kind === "outbound");
  fill($("outbound-queues"), queues.map((q) => h("option", { value: q.name })));
}

// What a campaign in each state may do: a paused one starts, a running one pauses, and
// either stops for good (a stopped campaign stays stopped: the hub would answer 409).
const ACTIONS = { paused: ["start", "stop"], running: ["pause", "stop"], stopped: [] };

async function loadCampaigns() {
  const campaigns = (await get("/api/campaigns")).items;
  const rows = campaigns.map((c) => h("tr", { dataset: { campaign: c.name } },
    h("th", { scope: "row" }, c.name), h("td", {}, c.queue), h("td", { class: "state" }, c.state),
    h("td", { class: "acts" }, (ACTIONS[c.state] || []).map((action) => h("button", {
      type: "button", class: "plain", onclick: () => act(c.name, action) }, `${action} ${c.name}`)),
      h("button", { type: "button", class: "plain", onclick: () => stats(c.name) }, `stats ${c.name}`))));
  fill($("campaign-list").tBodies[0],
    rows.length ? rows : h("tr", {}, h("td", { colspan: 4, class: "hint" }, "No campaigns yet: create one below.")));
  const chosen = $("upload-campaign").value;
  fill($("upload-campaign"), campaigns.map((c) => h("option", { value: c.name, selected: c.name === chosen }, c.name)));
  // A list goes to a campaign: nothing to upload to until there is one.
  $("campaign-upload").querySelector("button[type=submit]").disabled = !campaigns.length;
  if (!$("campaign-stats").childElementCount) {
    fill($("campaign-stats"), h("p", { class: "hint" }, campaigns.length ? "A campaign's stats button shows them here." : "None yet."));
  }
}

async function guarded(work) {
  $("campaign-error").textContent = "";
  try {
    await work();
  } catch (error) {
    const problems = error.body && error.body.problems ? `: ${error.body.problems.join("; ")}` : "";
    $("campaign-error").textContent = error.message + problems;
  }
}

function create(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  return guarded(async () => {
    // A field left empty takes the hub's [campaigns] default, not one of the page's own.
    const body = { name: form.get("name") };
    for (const field of ["queue", "hours"]) if (form.get(field).trim()) body[field] = form.get(field).trim();
    await post("/api/campaigns", body);
    event.target.reset();
    await loadCampaigns();
  });
}

function act(name, action) {
  // Stopping is for good: asked once more.
  if (action === "stop" && !confirm(`Stop ${name} for good? A stopped campaign cannot start again.`)) return null;
  return guarded(async () => {
    await post(`/api/campaigns/${encodeURIComponent(name)}/${action}`);
    await loadCampaigns();
  });
}

function stats(name) {
  return guarded(async () => {
    const s = await get(`/api/campaigns/${encodeURIComponent(name)}/stats`);
    const rate = s.contact_rate === null ? "—" : `${Math.round(s.contact_rate * 100)}%`;
    fill($("campaign-stats"), h("p", {}, `${name}: ${s.contacts} contacts, ${s.attempts} attempts, contact rate ${rate}, callable now ${s.callable_now}`),
      h("ul", { class: "items" }, Object.entries(s.by_state).map(([state, n]) => h("li", {}, `${state}: ${n}`))));
  });
}

// fetch() tells nothing of an upload's progress; XMLHttpRequest does.
function upload(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const file = form.get("file");
  const bar = $("upload-progress");
  bar.hidden = false;
  bar.value = 0;
  const request = new XMLHttpRequest();
  request.open("POST", `/api/campaigns/${encodeURIComponent(form.get("campaign"))}/contacts`);
  request.setRequestHeader("Content-Type", "text/csv");
  request.setRequestHeader("X-CSRF-Token", csrfToken());
  request.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100); };
  request.onload = () => {
    bar.value = 100;
    const body = JSON.parse(request.responseText || "{}");
    if (request.status !== 200) {
      $("campaign-error").textContent = body.error || `HTTP ${request.status}`;
      return;
    }
    showReport(body);
  };
  request.onerror = () => { $("campaign-error").textContent = "the upload was cut off"; };
  request.send(file);
}

function showReport(report) {
  fill($("load-report"),
    h("p", { class: "summary-line" }, `${count(report.rows, "row")}: ${report.accepted} accepted, ${report.invalid} invalid, ` +
      `${count(report.duplicates.in_list + report.duplicates.in_campaign, "duplicate")}, ${report.suppressed} suppressed`),
    report.problems.length ? h("table", {},
      h("thead", {}, h("tr", {}, ["Line", "Problem", "Phone"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, report.problems.slice(0, 50).map((p) => h("tr", {},
        h("td", {}, p.line), h("td", {}, `${p.kind}: ${p.reason}`), h("td", {}, p.phone ?? ""))))) : null);
}
