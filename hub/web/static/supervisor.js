// The supervisor's view: live queues and agents from the event stream, rules, reports.

import { ApiError, get, post, send } from "./api.js";
import { bars } from "./charts.js";
import { $, browserZone, fill, h, localDay, span, until, when } from "./dom.js";
import { showTicket, titleOf } from "./agent.js";
import { startSavedReplies } from "./saved_replies.js";

const depths = new Map();
const today = new Map(); // queue -> today's row of the volume series (SLA met, breaches)
let staffing = new Map(); // queue -> agents serving it by state
let rulesVersion = null; // the version the editor's text started from
let agentsTimer = null;

export async function startSupervisor() {
  const queues = await get("/api/queues");
  for (const q of queues.items) {
    if (!depths.has(q.name)) depths.set(q.name, { queue: q.name, waiting: q.waiting, open: q.open, oldest_waiting_at: q.oldest_waiting_at });
  }
  drawQueues();
  loadAgents();
  loadToday();
  setInterval(loadAgents, 10_000); // presence changes are no events of the record: polled
  loadRules();
  reportQueues();
  $("report-filter").onchange = () => loadReports();
  loadReports();
  $("rules-publish").onclick = publish;
  $("rules-reload").onclick = loadRules;
  $("rules-simulate").onclick = simulateDraft;
  $("rules-test").onsubmit = testDraft;
  startSavedReplies(() => [...depths.keys()]);
}

// A depth is a snapshot: the newest one of a queue replaces what was shown.
export function onDepth(depth) {
  depths.set(depth.queue, depth);
  drawQueues();
  if (depth.queue === waitingQueue) waitingLater();
}

const WAITING_SHOWN = 100;
let waitingQueue = null;
let waitingTimer = null;
// A hub away meanwhile: the list stays as it was; the next depth or reconnection reads it again.
const waitingLater = () => { clearTimeout(waitingTimer); waitingTimer = setTimeout(() => showWaiting(waitingQueue).catch(() => {}), 300); };

// What waits in a queue, the most pressing first (priority, then age, as a claim takes
// them: GET /api/queues/{name}/waiting reads the waiting index in that order, however many
// wait): live tickets nobody holds. Each opens in the inbox.
async function showWaiting(queue, { focus = false } = {}) {
  waitingQueue = queue;
  const found = await get(`/api/queues/${encodeURIComponent(queue)}/waiting?limit=${WAITING_SHOWN}`);
  $("waiting").hidden = false;
  $("waiting-title").textContent = `Waiting in ${queue}: ${found.waiting}`;
  fill($("waiting-list").tBodies[0], found.items.map((t) => h("tr", { dataset: { ticket: t.id } },
    h("th", { scope: "row" }, h("a", { href: `#ticket-${t.id}`, onclick: (e) => { e.preventDefault(); openInInbox(t.id); } },
      `#${t.id} ${titleOf(t)}`)),
    h("td", {}, t.priority), h("td", {}, t.status), h("td", {}, span(-until(t.created_at))))));
  $("waiting-more").textContent = found.waiting > found.items.length ? `The ${found.items.length} most pressing are shown.` : "";
  if (focus) $("waiting-title").focus();
}

function openInInbox(id) {
  $("tab-agent").click();
  showTicket(id, { focus: true });
}

let reportsTimer = null;
let todayTimer = null;
let todayRead = 0;
const TODAY_EVENTS = /^(sla\.|ticket\.)/;
const TODAY_GAP = 3000; // ms between two reads of today's figures while events keep coming

// An event (or, without a name, a stream that came back: anything may have been missed).
export function onEvent(_data, name) {
  clearTimeout(agentsTimer);
  agentsTimer = setTimeout(loadAgents, 300);
  if (!name) {
    clearTimeout(todayTimer);
    todayTimer = null;
    todayLater(0);
  } else if (TODAY_EVENTS.test(name)) {
    todayLater(Math.max(500, TODAY_GAP - (Date.now() - todayRead)));
  }
  // Reports are costly to compute: at most one reload every 10 seconds while events come.
  reportsTimer ??= setTimeout(() => { reportsTimer = null; loadReports(); }, 10_000);
}

// Today's SLA figures follow tickets and the SLA clock: read half a second after an event,
// then at most every TODAY_GAP while events keep coming (a steady stream never starves it,
// and a busy hub is not asked for a report per event).
function todayLater(wait) {
  if (todayTimer !== null) return; // the read already due will see this event too
  todayTimer = setTimeout(async () => {
    todayTimer = null; // an event from now on is read next time (this read may miss it)
    todayRead = Date.now();
    try {
      await loadToday();
    } catch { /* the hub is away: the figures stay, the next event or reconnect reads again */ }
  }, wait);
}

// Today (from the browser's midnight, in its time zone): each queue's row of the volume
// series, whose tickets created today carry the SLA met and the breaches.
async function loadToday() {
  const query = new URLSearchParams({ from: localDay(), tz: browserZone(), group_by: "day", by: "queue" });
  const series = await get(`/api/reports/volume?${query}`);
  today.clear();
  for (const row of series.items) today.set(row.key, row);
  drawQueues();
}

function drawQueues() {
  const rows = [...depths.values()].sort((a, b) => a.queue.localeCompare(b.queue));
  fill($("queues").tBodies[0], rows.map((d) => {
    const sla = today.get(d.queue)?.sla;
    return h("tr", { dataset: { queue: d.queue } },
      h("th", { scope: "row" }, h("button", { type: "button", class: "link", "aria-label": `What waits in ${d.queue}`,
        onclick: () => showWaiting(d.queue, { focus: true }) }, d.queue)),
      h("td", { class: "waiting" }, d.waiting),
      h("td", {}, d.open),
      h("td", { dataset: { since: d.oldest_waiting_at || "" } }, d.oldest_waiting_at ? span(-until(d.oldest_waiting_at)) : "—"),
      h("td", { class: "staff" }, staffOf(d.queue)),
      h("td", { class: "sla", title: sla && sla.of ? `${sla.count} of ${sla.of} tickets created today` : null },
        sla && sla.percent !== null ? `${Math.round(sla.percent)}%` : "—"),
      h("td", { class: "breaches" }, today.get(d.queue)?.breached ?? 0));
  }));
}

function staffOf(queue) {
  const n = staffing.get(queue) || {};
  return ["online", "busy", "away", "offline"].map((state) => `${state} ${n[state] || 0}`).join(" · ");
}

// The longest wait goes on growing between two snapshots of a queue.
setInterval(() => {
  for (const cell of document.querySelectorAll("#queues td[data-since]")) {
    if (cell.dataset.since) cell.textContent = span(-until(cell.dataset.since));
  }
}, 1000);

async function loadAgents() {
  const agents = (await get("/api/agents")).items;
  // Busy: online and working on something (presence itself knows online, away, offline).
  const state = (a) => (a.presence === "online" && Object.values(a.load).some((n) => n > 0) ? "busy" : a.presence);
  const counts = { online: 0, busy: 0, away: 0, offline: 0 };
  for (const a of agents) counts[state(a)] = (counts[state(a)] || 0) + 1;
  // An agent without queues serves every queue.
  staffing = new Map([...depths.keys()].map((queue) => {
    const n = {};
    for (const a of agents.filter((a) => !a.queues.length || a.queues.includes(queue))) n[state(a)] = (n[state(a)] || 0) + 1;
    return [queue, n];
  }));
  drawQueues();
  $("presence-counts").textContent = `online ${counts.online} · busy ${counts.busy} · away ${counts.away} · offline ${counts.offline}`;
  fill($("agents").tBodies[0], agents.map((a) => h("tr", { dataset: { agent: a.name } },
    h("th", { scope: "row" }, a.name), h("td", { class: "presence" }, state(a)),
    h("td", {}, Object.entries(a.load).filter(([, n]) => n).map(([ch, n]) => `${ch} ${n}`).join(", ") || "0"),
    h("td", {}, h("button", { type: "button", class: "plain", "aria-label": `Edit ${a.name}`, onclick: () => editAgent(a.name) }, "Edit")))));
}

const ROLES = ["agent", "supervisor", "outbound", "admin"];
const CHANNELS = ["email", "sms", "voice", "slack", "form", "chat"];
const names = (text) => text.split(",").map((t) => t.trim()).filter(Boolean);
const same = (a, b) => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

// One agent's roles, skills, capacity per channel and queues (PUT /api/agents/NAME), and
// their presence. Only what was changed is sent: a supervisor re-sending a role they may not
// grant (supervisor, admin) would be refused though nothing changed.
async function editAgent(name) {
  const agent = await get(`/api/agents/${encodeURIComponent(name)}`);
  const form = $("agent-edit");
  const said = h("p", { class: "hint", role: "status", id: "agent-edit-said" });
  const box = (group, value, checked) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: group, value, checked }), ` ${value}`);
  const queues = [...depths.keys()];
  fill(form,
    h("h3", { id: "agent-edit-title", tabindex: "-1" }, `Edit ${agent.name}`),
    h("fieldset", {}, h("legend", {}, "Roles"), ROLES.map((r) => box("role", r, agent.roles.includes(r)))),
    h("label", { for: "agent-skills" }, "Skills (comma separated)"),
    h("input", { id: "agent-skills", value: agent.skills.join(", ") }),
    h("fieldset", {}, h("legend", {}, "Capacity per channel"), CHANNELS.map((ch) => h("label", { class: "capacity" }, `${ch} `,
      h("input", { type: "number", min: 0, max: 10000, step: 1, name: "capacity", dataset: { channel: ch }, value: agent.capacity[ch] ?? 0 })))),
    h("fieldset", {}, h("legend", {}, "Queues served (none ticked: every queue)"), queues.map((q) => box("queue", q, agent.queues.includes(q)))),
    h("div", { class: "row" },
      h("button", { type: "submit" }, "Save"),
      h("label", {}, "Presence ", h("select", { id: "agent-presence" },
        ["online", "away", "offline"].map((p) => h("option", { value: p, selected: p === agent.presence }, p)))),
      h("button", { type: "button", class: "plain", id: "agent-set-presence" }, "Set presence"),
      h("button", { type: "button", class: "plain", onclick: () => { form.hidden = true; } }, "Close")),
    said);
  const ticked = (group) => [...form.querySelectorAll(`input[name=${group}]:checked`)].map((i) => i.value);
  form.onsubmit = async (event) => {
    event.preventDefault();
    const change = {};
    if (!same(ticked("role"), agent.roles)) change.roles = ticked("role");
    if (!same(names($("agent-skills").value), agent.skills)) change.skills = names($("agent-skills").value);
    const capacity = Object.fromEntries([...form.querySelectorAll("input[name=capacity]")].map((i) => [i.dataset.channel, Number(i.value)]));
    if (CHANNELS.some((ch) => capacity[ch] !== agent.capacity[ch])) change.capacity = capacity;
    if (!same(ticked("queue"), agent.queues)) change.queues = ticked("queue");
    if (!Object.keys(change).length) { said.textContent = "Nothing changed."; return; }
    try {
      Object.assign(agent, await send("PUT", `/api/agents/${encodeURIComponent(agent.name)}`, change));
      said.textContent = "Saved.";
      loadAgents();
    } catch (e) { said.textContent = e.message; }
  };
  $("agent-set-presence").onclick = async () => {
    try {
      await post(`/api/agents/${encodeURIComponent(agent.name)}/presence`, { status: $("agent-presence").value });
      said.textContent = `${agent.name} is ${$("agent-presence").value}.`;
      loadAgents();
    } catch (e) { said.textContent = e.message; }
  };
  form.hidden = false;
  $("agent-edit-title").focus();
}

async function loadRules() {
  const [rules, versions] = await Promise.all([get("/api/rules"), get("/api/rules/versions")]);
  $("rules-source").value = rules.source;
  rulesVersion = rules.version;
  $("rules-version").textContent = `version ${rules.version ?? "—"}`;
  fill($("rules-problems"));
  fill($("rules-versions"), versions.items.map((v) => h("li", { dataset: { version: v.version } },
    `v${v.version} by ${v.author} · ${when(v.created_at)} `,
    h("button", { type: "button", class: "plain", onclick: () => viewVersion(v.version) }, `View v${v.version}`), " ",
    v.version === rules.version ? null
      : h("button", { type: "button", class: "plain", onclick: () => restore(v.version) }, `Roll back to v${v.version}`))));
}

// "FILE:LINE: what" becomes "Line LINE: what", a button that puts the cursor on that line.
async function simulateDraft() {
  try {
    const result = await post("/api/rules/simulate", { rules: $("rules-source").value });
    fill($("rules-problems"));
    fill($("rules-simulation"),
      h("p", {}, `${result.tickets} stored tickets replayed: ${result.moved} would move.`),
      result.moves.length ? h("table", {},
        h("thead", {}, h("tr", {}, ["Ticket", "From", "To", "By rule"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, result.moves.map((m) => h("tr", {},
          h("td", {}, `#${m.ticket_id}`), h("td", {}, m.from), h("td", {}, m.to), h("td", {}, m.rule ?? "default"))))) : null);
  } catch (error) {
    fill($("rules-simulation"));
    showProblems(error);
  }
}

async function viewVersion(version) {
  const stored = await get(`/api/rules/versions/${version}`);
  $("rules-source").value = stored.source;
  fill($("rules-problems"), h("li", { class: "hint" }, `Showing v${version} in the editor (not published).`));
}

async function restore(version) {
  const reason = $("rollback-reason").value.trim() || `roll back from the dashboard`;
  try {
    const base = rulesVersion === null ? {} : { "If-Match": `"${rulesVersion}"` };
    await send("POST", `/api/rules/versions/${version}/restore`, { reason }, base);
    await loadRules();
    $("rules-problems").append(h("li", { class: "ok" }, `Rolled back to v${version}.`));
  } catch (error) {
    showProblems(error);
  }
}

function showProblems(error) {
  const problems = error instanceof ApiError && error.body.problems ? error.body.problems : [];
  fill($("rules-problems"), problems.length ? null : h("li", {}, error.message), problems.map((text) => {
    const found = /^.*?:(\d+): (.*)$/s.exec(text);
    if (!found) return h("li", {}, text);
    const line = Number(found[1]);
    return h("li", {}, h("button", { type: "button", class: "plain", onclick: () => goToLine(line) }, `Line ${line}`), ` ${found[2]}`);
  }));
}

function goToLine(line) {
  const editor = $("rules-source");
  const lines = editor.value.split("\n");
  const start = lines.slice(0, line - 1).reduce((n, text) => n + text.length + 1, 0);
  editor.focus();
  editor.setSelectionRange(start, start + (lines[line - 1] || "").length);
}

async function publish() {
  try {
    // If-Match: a version published meanwhile (an edited file, someone else) is a 409 here.
    const base = rulesVersion === null ? {} : { "If-Match": `"${rulesVersion}"` };
    await send("PUT", "/api/rules", $("rules-source").value, base);
    await loadRules();
    $("rules-problems").append(h("li", { class: "ok" }, "Published."));
  } catch (error) {
    showProblems(error);
  }
}

async function testDraft(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const probe = { channel: form.get("channel"), from: form.get("from"), text: form.get("text"), rules: $("rules-source").value };
  try {
    const d = await post("/api/rules/test", probe);
    fill($("rules-problems"));
    $("rules-decision").textContent = [`queue: ${d.queue}`, `rule: ${d.rule ?? "(default)"}`,
      `priority: ${d.priority}`, d.campaign ? `campaign: ${d.campaign}` : null, "", ...d.explanation]
      .filter((line) => line !== null).join("\n");
  } catch (error) {
    $("rules-decision").textContent = "";
    showProblems(error);
  }
}

// The reports' window and filters, as the form says: whole local days in the browser's
// zone, ending now; a period longer than a month is drawn by the week.
function reportQuery() {
  const form = $("report-filter");
  const days = Number(form.elements.days.value);
  const query = { from: localDay(days - 1), tz: browserZone(), seconds: form.elements.seconds.value };
  for (const key of ["queue", "channel"]) if (form.elements[key].value) query[key] = form.elements[key].value;
  return { query, step: days > 31 ? "week" : "day", label: form.elements.days.selectedOptions[0].text };
}

// The SLA met of each clock some ticket of the window had a target for (or breached),
// named as the rules name them, with how many tickets it is of; behind it, those that missed.
function clockFigures(clocks, figure, share) {
  return Object.entries(clocks || {}).filter(([, part]) => part.of > 0).map(([clock, part]) => {
    const name = clock.replace("_", " ");
    return figure(`${name} SLA met, of ${part.of}`, share(part),
      { metric: "sla_breached", clock, label: `${name} SLA missed` });
  });
}

const BEHIND_SHOWN = 100;

// The tickets behind a figure (GET /api/reports/tickets, the drill-down whose size the
// figure is): each opens in the inbox; all of them as CSV.
async function showBehind(query, behind) {
  const asked = { ...query, metric: behind.metric, ...(behind.clock ? { clock: behind.clock } : {}) };
  let found;
  try {
    found = await get(`/api/reports/tickets?${new URLSearchParams(asked)}`);
  } catch (e) {
    $("behind-title").textContent = e.message;
    return;
  }
  const shown = found.items.slice(0, BEHIND_SHOWN);
  const tickets = await ticketsNamed(shown.map((t) => t.ticket_id));
  $("behind").hidden = false;
  $("behind-title").textContent = `Tickets behind "${behind.label}": ${found.count}`;
  fill($("behind-list"), shown.map((t) => {
    const ticket = tickets.get(t.ticket_id);
    return h("li", {},
      h("a", { href: `#ticket-${t.ticket_id}`, onclick: (e) => { e.preventDefault(); openInInbox(t.ticket_id); } },
        ticket ? `#${t.ticket_id} ${titleOf(ticket)}` : `#${t.ticket_id}`),
      ticket ? ` · ${ticket.status} · ${ticket.queue}` : tickets.size ? " (no longer kept)" : "",
      t.value === null ? "" : ` · ${span(t.value)}`);
  }));
  $("behind-more").textContent = found.count > BEHIND_SHOWN ? `The first ${BEHIND_SHOWN} are shown.` : "";
  $("behind-csv").href = `/api/reports/tickets?${new URLSearchParams({ ...asked, format: "csv" })}`;
  $("behind-title").focus();
}

// The tickets as they are now, by id (one listing with `ids`); none when it fails (the
// list then shows their numbers alone) or a ticket was purged since.
async function ticketsNamed(ids) {
  if (!ids.length) return new Map();
  try {
    const page = await get(`/api/tickets?${new URLSearchParams({ ids: ids.join(","), limit: ids.length })}`);
    return new Map(page.items.map((t) => [t.id, t]));
  } catch { return new Map(); }
}

async function loadReports() {
  const { query, step, label } = reportQuery();
  const asked = new URLSearchParams(query);
  const [summary, volume] = await Promise.all([get(`/api/reports/summary?${asked}`),
    get(`/api/reports/volume?${new URLSearchParams({ ...query, group_by: step, by: "channel" })}`)]);
  // A figure with the tickets behind it a click away (`behind`: the drill-down's metric).
  const figure = (name, value, behind) => h("div", {}, behind
    ? h("button", { type: "button", class: "plain figure", "aria-label": `Tickets behind ${behind.label}`,
      onclick: () => showBehind(query, behind) },
      h("strong", {}, value ?? "—"), name)
    : [h("strong", {}, value ?? "—"), name]);
  const by = (metric, label) => ({ metric, label });
  const p = (spread) => (spread && spread.p50 !== null && spread.p50 !== undefined ? span(spread.p50) : null);
  const share = (part) => (part && part.percent !== null && part.percent !== undefined ? `${Math.round(part.percent)}%` : null);
  $("report-window").textContent = `${label}, from ${query.from} (${query.tz}), tickets created in the window.`;
  $("behind").hidden = true;
  fill($("summary"), figure("created", summary.created, by("created", "created")),
    figure("resolved", summary.resolved, by("resolved", "resolved")),
    figure("backlog", summary.backlog, by("backlog", "backlog")),
    figure("first response p50", p(summary.first_response), by("first_response", "first responses")),
    figure("resolution p50", p(summary.resolution), by("resolved", "resolutions")),
    figure("one-touch", share(summary.one_touch), by("one_touch", "one-touch resolutions")),
    figure("repeat contact", share(summary.repeat_contact), by("repeat_contact", "repeat contacts")),
    figure("SLA met", share(summary.sla), by("sla_breached", "SLA missed")),
    ...clockFigures(summary.sla_by_clock, figure, share));
  const buckets = volume.totals.map((row) => row.bucket.slice(0, 10));
  const of = (pick) => volume.totals.map(pick);
  const per = `per ${step}`;
  $("volume-title").textContent = `Tickets created ${per}`;
  $("response-title").textContent = `First response ${per} (p50, p90)`;
  $("sla-title").textContent = `SLA met ${per}`;
  fill($("volume-chart"), bars(`Tickets created ${per}`, buckets, [{ name: "created", values: of((r) => r.count) }]));
  fill($("response-chart"), bars(`First response ${per}`, buckets, [
    { name: "p50", values: of((r) => r.first_response.p50) },
    { name: "p90", values: of((r) => r.first_response.p90) }], { show: span }));
  fill($("sla-chart"), bars(`SLA met ${per}`, buckets, [{ name: "SLA met", values: of((r) => r.sla.percent) }],
    { show: (v) => `${Math.round(v)}%`, top: 100 }));
  fill($("report-agents").tBodies[0], (summary.agents || []).map((a) => h("tr", {},
    h("th", { scope: "row" }, a.agent),
    h("td", {}, h("button", { type: "button", class: "plain", "aria-label": `Tickets ${a.agent} handled`,
      onclick: () => showBehind({ ...query, agent: a.agent }, { metric: "handled", label: `handled by ${a.agent}` }) },
      String(a.handled))),
    h("td", {}, p(a.first_response) ?? "—"), h("td", {}, p(a.handle_time) ?? "—"))));
  $("csv-summary").href = `/api/reports/summary?${new URLSearchParams({ ...query, format: "csv" })}`;
  $("csv-volume").href = `/api/reports/volume?${new URLSearchParams({ ...query, group_by: step, format: "csv" })}`;
}

// The queues the reports may be narrowed to: the rules' (kept when the list is drawn again).
function reportQueues() {
  const select = $("report-filter").elements.queue;
  const chosen = select.value;
  fill(select, h("option", { value: "" }, "every queue"),
    [...depths.keys()].sort().map((q) => h("option", { value: q, selected: q === chosen }, q)));
}
