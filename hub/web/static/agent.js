// The agent's inbox: offers with their time left, my tickets, my queues, one ticket worked.

import { get, post, send } from "./api.js";
import { $, fill, h, span, until, when } from "./dom.js";
import { followUp, savedReplyChoice } from "./reply_tools.js";

const STATUSES = ["new", "open", "pending", "resolved", "closed"];
const PRIORITIES = ["low", "normal", "high", "urgent"];
let offers = [];
let openTicket = null;
let asked = null; // the ticket the agent asked for last: open, or still loading
let me = null;
let queueNames = []; // every queue, for the transfer's choice
let agentNames = []; // every agent, for a supervisor's choice of assignee
// How much of the open ticket is drawn: its newest messages and record entries (a chat of
// thousands of lines opens at once); "Show earlier" asks for more, a fresh open starts over.
const MESSAGES_SHOWN = 100;
const RECORD_SHOWN = 200;
const ALL = 100000;
let showing = { messages: MESSAGES_SHOWN, record: RECORD_SHOWN };

export async function startAgent(who) {
  me = who;
  $("find").onsubmit = (event) => { event.preventDefault(); find($("find-text").value.trim()); };
  await Promise.all([loadOffers(), loadTickets(), loadQueues(), loadAgentNames()]);
  setInterval(tick, 1000);
  setInterval(() => loadPresence().catch(() => { /* the hub is away: the stream says so */ }), PRESENCE_POLL);
  $("presence").addEventListener("change", () => { lapsed = null; $("presence-why").textContent = ""; });
}

// A burst of events redraws each list once.
const later = (work) => { let timer = null; return () => { clearTimeout(timer); timer = setTimeout(work, 150); }; };
const offersLater = later(() => loadOffers());
const ticketsLater = later(() => loadTickets());
// Not while another ticket is being opened: the redraw would finish later and put the old
// one back over the one the agent asked for.
const ticketLater = later(() => openTicket && asked === openTicket && showTicket(openTicket));
const presenceLater = later(() => loadPresence());
let lapsed = null; // the ticket whose offer ran out and set me away, to say so

// My presence as the hub has it: an offer's timeout or a supervisor may have changed it.
const PRESENCE_POLL = 15_000;
async function loadPresence() {
  const mine = await get("/api/me");
  $("presence").value = mine.presence;
  if (mine.presence === "online") lapsed = null;
  $("presence-why").textContent = lapsed !== null && mine.presence === "away"
    ? `The offer of #${lapsed} ran out, so you are away: choose online to be offered work again.` : "";
}

export function onEvent(data, name) {
  if (name.startsWith("offer.")) offersLater();
  // An offer of mine that ran out set me away (or one withdrawn: I left online elsewhere):
  // the presence shown must follow, or I wait for work that never comes.
  if ((name === "offer.expired" || name === "offer.withdrawn") && data.detail && data.detail.agent === me.name) {
    lapsed = name === "offer.expired" ? data.ticket_id : lapsed;
    presenceLater();
  }
  if (data.assignee === me.name || name === "ticket.updated") ticketsLater();
  if (openTicket && data.ticket_id === openTicket) ticketLater();
}

// A queue's depth from the stream: my queues' waiting counts follow it. Each is kept with the
// number of depths heard so far, so a list fetched before one arrived does not undo it.
let depthsHeard = 0;
const heard = new Map(); // queue -> { waiting, at: depthsHeard when it came }

export function onDepth(depth) {
  depthsHeard += 1;
  heard.set(depth.queue, { waiting: depth.waiting, at: depthsHeard });
  for (const item of document.querySelectorAll("#my-queues li")) {
    if (item.dataset.queue === depth.queue) item.querySelector(".waiting").textContent = depth.waiting;
  }
}

// What the stream covers, read again (it was not live, or it lost events).
export function refresh() {
  loadOffers();
  loadTickets();
  loadQueues();
  loadPresence();
}

async function loadOffers() {
  offers = (await get("/api/offers")).items;
  fill($("offers"), offers.length ? offers.map(offerItem) : h("li", {}, "No offers."));
}

function offerItem(offer) {
  return h("li", { class: "offer", dataset: { offer: offer.id } },
    h("strong", {}, `Ticket #${offer.ticket_id}`), ` · ${offer.queue} · ${offer.channel} `,
    h("span", { class: "left", dataset: { deadline: offer.deadline } }, span(until(offer.deadline))),
    h("div", { class: "row" },
      h("button", { type: "button", onclick: () => answer(offer, "accept") }, "Accept"),
      h("button", { type: "button", class: "plain", onclick: () => answer(offer, "reject") }, "Reject")));
}

async function answer(offer, verb) {
  try {
    const result = await post(`/api/offers/${offer.id}/${verb}`);
    if (verb === "accept") showTicket(result.id, { focus: true });
  } catch (error) {
    $("claim-why").textContent = error.message;
  }
  loadOffers();
  loadTickets();
}

async function loadTickets() {
  const page = await get("/api/tickets?assignee=me&limit=50");
  const mine = page.items.filter((t) => !["resolved", "closed"].includes(t.status));
  fill($("my-tickets"), mine.length ? mine.map(ticketLink) : h("li", {}, "Nothing assigned."));
}

const CHANNEL_NAMES = { email: "Email", sms: "SMS", voice: "Call", slack: "Slack message", form: "Form", chat: "Web chat" };

// Texts and calls have no subject: their channel and day tell them apart in a list.
export function titleOf(ticket) {
  if (ticket.subject) return ticket.subject;
  const day = new Date(ticket.created_at).toLocaleDateString(undefined, { month: "short", day: "numeric" });
  return `${CHANNEL_NAMES[ticket.channel] || ticket.channel} of ${day}`;
}

function ticketLink(ticket) {
  return h("li", {},
    h("a", { href: `#ticket-${ticket.id}`, onclick: (e) => { e.preventDefault(); showTicket(ticket.id, { focus: true }); } },
      `#${ticket.id} ${titleOf(ticket)}`),
    h("span", { class: "hint" }, ` ${ticket.status} · ${ticket.queue}`));
}

const FOUND_SHOWN = 20;

// Any ticket, not only mine: "#123" (or "123") opens it; words find the tickets whose
// subject or messages have every one of them (GET /api/tickets?q=).
async function find(text) {
  const said = $("found-why");
  fill($("found"));
  said.textContent = "";
  if (!text) return;
  const number = /^#?(\d+)$/.exec(text);
  try {
    if (number) {
      await showTicket(Number(number[1]), { focus: true });
      return;
    }
    const page = await get(`/api/tickets?q=${encodeURIComponent(text)}&limit=${FOUND_SHOWN}`);
    fill($("found"), page.items.map(ticketLink));
    if (!page.items.length) said.textContent = "No ticket has every word.";
    else if (page.next) said.textContent = `The newest ${FOUND_SHOWN}; add a word to narrow them.`;
  } catch (e) {
    said.textContent = e.status === 404 ? `No ticket ${text.startsWith("#") ? text : "#" + text}.` : e.message;
  }
}

async function loadAgentNames() {
  if (!supervises()) return;
  agentNames = (await get("/api/agents")).items.filter((a) => a.roles.includes("agent")).map((a) => a.name);
}

const supervises = () => me.roles.some((r) => r === "supervisor" || r === "admin");

// Who may hold the ticket, as the API allows the caller: a supervisor anyone, an agent
// themselves (and whoever holds it now, to show).
function assignees(ticket) {
  const names = new Set(supervises() ? agentNames : [me.name]);
  if (ticket.assignee) names.add(ticket.assignee);
  return [...names].sort();
}

async function loadQueues() {
  const asked = depthsHeard;
  const [queues, agent] = await Promise.all([get("/api/queues"), get("/api/me")]);
  queueNames = queues.items.map((q) => q.name);
  const mine = queues.items.filter((q) => !agent.queues.length || agent.queues.includes(q.name));
  const waiting = (q) => (heard.get(q.name)?.at > asked ? heard.get(q.name).waiting : q.waiting);
  fill($("my-queues"), mine.map((q) => h("li", { dataset: { queue: q.name } },
    h("strong", {}, q.name), " ", h("span", { class: "waiting" }, waiting(q)), " waiting ",
    h("button", { type: "button", class: "plain", onclick: () => claim(q.name) }, "Claim next"))));
}

async function claim(queue) {
  const answer = await post(`/api/queues/${encodeURIComponent(queue)}/claim?why=1`);
  if (answer.id) {
    $("claim-why").textContent = "";
    showTicket(answer.id, { focus: true });
    loadTickets();
  } else {
    $("claim-why").textContent = `Nothing to claim: ${answer.why.join("; ")}`;
  }
  loadQueues();
}

function tick() {
  for (const el of document.querySelectorAll("[data-deadline]")) {
    const left = until(el.dataset.deadline);
    el.textContent = left > 0 ? `${span(left)} left` : "expired";
  }
  for (const el of document.querySelectorAll("[data-due]")) {
    if (["active", "warning", "breached"].includes(el.dataset.state)) {
      el.querySelector(".left").textContent = dueText(el.dataset.due);
    }
  }
}

// A clock's due time from now: what is left, or by how much it is over.
function dueText(iso) {
  const left = until(iso);
  return left > 0 ? `${span(left)} left` : `${span(-left)} over`;
}

let shown = 0; // the newest render: an older one that finishes later is dropped

// A redraw between a button's press and its release would swallow the click: the press
// lands on the old button, the release on the new one, and the browser clicks neither.
// So a live redraw waits while a pointer is down, and until the click it makes has run.
let pressing = false;
let waiting = [];
document.addEventListener("pointerdown", () => { pressing = true; }, true);
const release = () => {
  pressing = false;
  setTimeout(() => { for (const go of waiting.splice(0)) go(); }, 0); // after the click
};
document.addEventListener("pointerup", release, true);
document.addEventListener("pointercancel", release, true);
const released = () => (pressing ? new Promise((go) => waiting.push(go)) : Promise.resolve());

// `focus`: a person opened it (the heading takes the focus, so Tab goes on into the
// ticket); a live redraw leaves the focus where it is.
export async function showTicket(id, { focus = false } = {}) {
  asked = id;
  try {
    await drawTicket(id, focus);
  } catch (error) {
    if (asked === id) asked = openTicket; // it did not open: live redraws go on for the open one
    throw error;
  }
}

async function drawTicket(id, focus) {
  const render = ++shown;
  // A ticket opened afresh reads the agents again: one added since the page loaded is a choice.
  const fresh = $("ticket").dataset.ticket !== String(id);
  if (fresh) showing = { messages: MESSAGES_SHOWN, record: RECORD_SHOWN };
  const [ticket, record] = await Promise.all([get(`/api/tickets/${id}?messages=${showing.messages}`),
    get(`/api/tickets/${id}/events?last=${showing.record}`), fresh ? loadAgentNames() : null]);
  const customer = ticket.customer_id === null ? null : await get(`/api/customers/${ticket.customer_id}`);
  if (render !== shown) return;
  await released();
  if (render !== shown) return; // the click's own change asked for a newer one
  openTicket = id; // only once it is there: a live redraw never asks for one that is not
  const same = $("ticket").dataset.ticket === String(id);
  const typed = same ? draftsOf() : {};
  const active = same && $("ticket").parentElement.contains(document.activeElement) ? document.activeElement : null;
  const caret = active && "selectionStart" in active ? [active.selectionStart, active.selectionEnd] : null;
  $("ticket").dataset.ticket = id;
  fill($("ticket"),
    h("h2", { tabindex: "-1", id: "ticket-title" }, `#${ticket.id} ${titleOf(ticket)}`),
    h("p", { class: "hint" }, `${ticket.status} · ${ticket.queue} · ${ticket.priority} · ${ticket.channel} · ${ticket.assignee || "unassigned"}`),
    ticket.tags.length ? h("ul", { class: "tags", "aria-label": "Ticket tags" }, ticket.tags.map((t) => h("li", { class: "tag" }, t))) : null,
    clocks(ticket.sla),
    h("ol", { class: "conversation", "aria-label": "Conversation" }, conversation(ticket)),
    ticket.channel === "chat" ? h("p", { class: "hint typing", id: "visitor-typing", role: "status" }) : null,
    actions(ticket));
  fill($("side"), h("h3", {}, "Record"),
    record.total > record.items.length ? showMore("whole-record", `Show the whole record (${record.total} entries)`,
      () => { showing.record = ALL; }) : null,
    h("ol", { class: "record" }, record.items.map((e) => recordItem(e, customer))),
    customer && customerPanel(customer));
  // A box the redraw no longer has (a closed ticket's changes) keeps nothing.
  for (const [field, value] of Object.entries(typed)) if ($(field)) $(field).value = value;
  watchTyping(ticket, customer);
  // On a phone the ticket is below the lists: bring its top into view, not its last line.
  if (focus) { $("ticket-title").focus({ preventScroll: true }); $("ticket-title").scrollIntoView({ block: "start" }); }
  else if (active && active.id && $(active.id) && $(active.id) !== active) keepFocus($(active.id), caret);
}

// A chat's visitor typing, shown while their ticket is open (GET .../typing: the hub keeps
// it 6 s; it is no event of the record, so it is asked for).
const TYPING_POLL = 2000;
let typingPoll = null;
function watchTyping(ticket, customer) {
  clearInterval(typingPoll);
  typingPoll = null;
  if (ticket.channel !== "chat") return;
  const who = (customer && customer.name) || "The visitor";
  const check = async () => {
    const shown = $("visitor-typing");
    if (!shown || openTicket !== ticket.id) return;
    try {
      const answer = await get(`/api/tickets/${ticket.id}/typing`);
      shown.textContent = answer.visitor_typing ? `${who} is typing…` : "";
    } catch { shown.textContent = ""; }
  };
  typingPoll = setInterval(check, TYPING_POLL);
  check();
}

// The agent's typing, shown in the visitor's widget: said at most every few seconds.
const TYPING_SAID = 3000;
let typingSaid = 0;
function sayTyping(ticket) {
  if (ticket.channel !== "chat" || Date.now() - typingSaid < TYPING_SAID) return;
  typingSaid = Date.now();
  post(`/api/tickets/${ticket.id}/typing`).catch(() => { /* a visitor gone: nothing to show */ });
}

// A redraw replaced the box or button the person was in: the same one (by id) takes the
// focus back, the caret where it was.
function keepFocus(el, caret) {
  el.focus();
  if (caret && typeof el.setSelectionRange === "function") {
    try { el.setSelectionRange(...caret); } catch { /* a select or button has no caret */ }
  }
}

// What the agent has typed into the ticket's boxes, or chosen in its lists and not yet
// applied: a redraw (a live event) keeps it. A list the agent did not touch shows the
// ticket as it is now (its `shown` is what it was drawn with).
const DRAFTS = ["reply-body", "note-body", "transfer-queue", "escalate-reason", "status", "priority", "assignee", "merge-text"];
function draftsOf() {
  const changed = (el) => el.tagName !== "SELECT" || el.value !== el.dataset.shown;
  return Object.fromEntries(DRAFTS.filter((field) => $(field) && changed($(field))).map((field) => [field, $(field).value]));
}

// A list drawn with `value` chosen, remembering it (see draftsOf).
function choice(id, value, options) {
  return h("select", { id, dataset: { shown: value } }, options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
}

function clocks(sla) {
  const metrics = Object.entries(sla).filter(([, v]) => v && typeof v === "object");
  return h("p", { class: "clocks" }, metrics.map(([metric, clock]) =>
    h("span", { class: `clock ${clock.state}`, dataset: { due: clock.due_at || "", state: clock.state } },
      `${metric.replace("_", " ")}: ${clock.state} `,
      h("span", { class: "left" }, clock.due_at && ["active", "warning", "breached"].includes(clock.state) ? dueText(clock.due_at) : ""))));
}

// A button that draws more of the open ticket: `more` says how much, then it is drawn again.
function showMore(id, text, more) {
  return h("button", { type: "button", class: "plain", id, onclick: () => {
    more();
    showTicket(openTicket).catch(() => { /* the ticket is gone: the list says so */ });
  } }, text);
}

function conversation(ticket) {
  const notes = (ticket.notes || []).map((n) => ({ at: n.at, note: n }));
  const messages = ticket.messages.map((m) => ({ at: m.at, message: m }));
  const earlier = ticket.messages_total - ticket.messages.length;
  const first = earlier > 0 ? [h("li", { class: "earlier" }, showMore("earlier-messages",
    `Show earlier messages (${earlier} more)`, () => { showing.messages += Math.max(MESSAGES_SHOWN * 4, showing.messages); }))] : [];
  // One order for every channel: the time each message came or went (ties: as stored).
  return first.concat([...messages, ...notes].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)).map((item) => {
    if (item.note) {
      return h("li", { class: "msg note" },
        h("span", { class: "meta" }, `Note by ${item.note.author || "?"} · ${when(item.note.at)}`), item.note.body);
    }
    return messageItem(item.message);
  }));
}

const EVENTS = { missed_call: "missed call", callback_request: "callback request", call: "call" };

// What kind of message it is, in words: a voicemail is its recording or its transcript.
function kindOf(m) {
  if (m.event === "voicemail") return m.attachments.length ? "voicemail recording" : "voicemail transcript";
  return EVENTS[m.event] || null;
}

function messageItem(m) {
  const who = m.direction === "inbound" ? m.from : (m.author || m.automatic || "us");
  const kind = kindOf(m);
  const meta = [m.channel, kind, who, when(m.at), m.delivery, m.edited_at ? `edited ${when(m.edited_at)}` : null];
  return h("li", { class: `msg ${m.direction}${kind ? " " + kind.replaceAll(" ", "-") : ""}`, dataset: { channel: m.channel } },
    h("span", { class: "meta" }, meta.filter(Boolean).join(" · ")),
    // A chat's or a text's subject is its first line: shown once, in the text.
    m.subject && !m.body.startsWith(m.subject) ? h("strong", {}, m.subject + "\n") : null,
    m.deleted_at ? [h("em", {}, `(deleted by the customer ${when(m.deleted_at)}) `), h("del", {}, m.body)] : m.body,
    // Why a reply did not reach the customer, where the agent looks for it (not only the log).
    m.error ? h("span", { class: "error delivery-error" }, `Not delivered (${m.delivery}): ${m.error}`) : null,
    ...channelNotes(m.meta || {}),
    m.attachments.length ? h("ul", { class: "attachments", "aria-label": "Attachments" }, m.attachments.map(attachmentItem)) : null);
}

// What the channel noted that the text does not say: the quoted earlier mail (cut from the
// text, folded here) and what of the message could not be read or kept.
function channelNotes(meta) {
  const notes = [];
  if (meta.quoted) notes.push(h("details", { class: "quoted" }, h("summary", {}, "Quoted text"), meta.quoted));
  const said = [];
  if (meta.unparsable) said.push(`The message could not be read (${meta.unparsable}); it is attached whole.`);
  if (meta.parts_skipped) said.push(`${meta.parts_skipped} part(s) nested too deep or past the 200th were not read; the whole message is attached (message.eml).`);
  if (meta.attachments_dropped) said.push(`${meta.attachments_dropped} attachment(s) over the size limit were not kept.`);
  if (said.length) notes.push(h("span", { class: "hint channel-note" }, said.join(" ")));
  return notes;
}

// The kept bytes from the hub (same origin, the session's cookie), else a link only to a
// web address (a recording at the provider's); never a script's URL.
function attachmentItem(a) {
  const web = typeof a.url === "string" && /^https?:\/\//i.test(a.url);
  const href = a.download || (web ? a.url : null);
  const label = a.content_type && a.content_type.startsWith("audio/") ? `Recording (${a.name})` : a.name;
  const size = a.size ? ` · ${Math.max(1, Math.round(a.size / 1024))} kB` : "";
  return h("li", {}, href ? h("a", { href, target: "_blank", rel: "noopener noreferrer" }, label) : label,
    h("span", { class: "hint" }, `${a.content_type ? " · " + a.content_type : ""}${size}${a.download || web ? "" : " · not kept"}`));
}

// Who did it, in words: the customer by name (their id is the actor's name), a rule by its.
function actorText(actor, customer) {
  if (actor.kind === "customer") {
    const ours = customer && String(customer.id) === actor.name && customer.name;
    return ours || `customer #${actor.name}`;
  }
  if (actor.kind === "rule") return `rule "${actor.name}"`;
  return actor.name || actor.kind;
}

const FIELD_MOVES = ["status", "priority", "queue", "tags", "assigned", "unassigned"];
const nobody = (v) => (v === null || v === undefined || v === "" ? "nobody" : Array.isArray(v) ? v.join(", ") || "none" : String(v));

function recordItem(e, customer) {
  const detail = recordDetail(e);
  return h("li", {}, h("strong", {}, e.kind), ` ${actorText(e.actor, customer)} · ${when(e.at)}`,
    detail ? h("span", { class: "detail" }, detail) : null);
}

// What an event changed, in words (its detail, README "The record"); none for a message
// or a note, which the conversation shows.
function recordDetail(e) {
  const d = e.detail || {};
  if (FIELD_MOVES.includes(e.kind)) return `${nobody(d.from)} → ${nobody(d.to)}`;
  switch (e.kind) {
    case "created": return `${d.queue} · ${d.priority}`;
    case "transferred": return d.note || "";
    case "escalated": return d.reason || "";
    case "delivery": return d.error ? `${d.status}: ${d.error}` : d.status;
    case "offered": return `to ${d.agent}`;
    case "offer_rejected": case "offer_timed_out": case "offer_withdrawn": return d.agent;
    case "sla_warning": case "sla_breach": return `${String(d.metric).replace("_", " ")} (${d.queue})`;
    case "customer_merged": case "customer_unmerged": return `customer #${d.from} → #${d.to}`;
    default: return "";
  }
}

// Where a reply goes, as the hub would send it now: its channel and, for email and SMS,
// the address; when nothing can carry one, the box is off and the reason is said.
function replyLabel(way) {
  if (way.refused) return "Reply";
  const to = ["email", "sms"].includes(way.channel) ? ` to ${way.to}` : "";
  return `Reply (by ${way.channel}${to})`;
}

function actions(ticket) {
  const way = ticket.reply;
  const off = Boolean(way.refused);
  const reply = h("textarea", { id: "reply-body", rows: 3, disabled: off, "aria-describedby": off ? "reply-way" : null,
    oninput: () => sayTyping(ticket) });
  const note = h("textarea", { id: "note-body", rows: 2 });
  const status = choice("status", ticket.status, STATUSES.map((s) => [s, s]));
  const queue = choice("transfer-queue", "", [["", "choose a queue"], ...queueNames.filter((name) => name !== ticket.queue).map((name) => [name, name])]);
  const reason = h("input", { id: "escalate-reason", value: "" });
  const priority = choice("priority", ticket.priority, PRIORITIES.map((p) => [p, p]));
  const assignee = choice("assignee", ticket.assignee || "", [["", "nobody"],
    ...assignees(ticket).map((name) => [name, name === me.name ? `${name} (me)` : name])]);
  const error = h("p", { class: "error", role: "alert", id: "ticket-error" });
  const run = async (work, ...sent) => {
    error.textContent = "";
    try {
      await work();
      // What was sent is emptied where it is shown now: a redraw while the request was under
      // way drew the box again, with the text still in it, and it would be sent twice.
      for (const box of sent) for (const shown of [box, $(box.id)]) if (shown) shown.value = "";
      showTicket(ticket.id);
      loadTickets();
    } catch (e) { error.textContent = e.message; }
  };
  const closed = ticket.status === "closed";
  return h("div", { class: "actions" },
    closed ? h("p", { class: "hint", id: "closed-final" },
      "Closed, and a closed ticket is final: its status, priority, queue and assignee stay as they are, and it takes no reply. Notes may still be added; the customer's next message starts a new ticket, and a follow-up writes to them again on a new ticket of yours.") : null,
    ...(closed ? followUp(ticket, error, (id) => { showTicket(id); loadTickets(); }) : [
      h("div", { class: "reply-head" }, h("label", { for: "reply-body" }, replyLabel(way)), off ? null : savedReplyChoice(ticket, reply)),
      reply,
      off ? h("p", { class: "hint", id: "reply-way" }, way.refused) : null,
      h("div", { class: "row" }, h("button", { type: "button", id: "send-reply", disabled: off,
        onclick: () => run(() => post(`/api/tickets/${ticket.id}/reply`, { body: reply.value }), reply) }, "Send reply"))]),
    h("label", { for: "note-body" }, "Internal note"), note,
    h("div", { class: "row" }, h("button", { type: "button", id: "add-note", class: "plain",
      onclick: () => run(() => post(`/api/tickets/${ticket.id}/notes`, { body: note.value }), note) }, "Add note")),
    ticket.status === "closed" ? null : h("div", { class: "row" },
      h("label", {}, "Status ", status),
      h("button", { type: "button", id: "set-status", class: "plain",
        onclick: () => run(() => send("PATCH", `/api/tickets/${ticket.id}`, { status: status.value })) }, "Set status"),
      h("label", {}, "Priority ", priority),
      h("button", { type: "button", id: "set-priority", class: "plain",
        onclick: () => run(() => send("PATCH", `/api/tickets/${ticket.id}`, { priority: priority.value })) }, "Set priority"),
      h("label", {}, "Assignee ", assignee),
      h("button", { type: "button", id: "assign", class: "plain",
        onclick: () => run(() => send("PATCH", `/api/tickets/${ticket.id}`, { assignee: assignee.value || null })) }, "Assign")),
    ticket.status === "closed" ? null : h("div", { class: "row" },
      h("label", {}, "Transfer to queue ", queue),
      h("button", { type: "button", id: "transfer", class: "plain",
        onclick: () => run(() => {
          if (!queue.value) throw new Error("Choose the queue to transfer to.");
          return post(`/api/tickets/${ticket.id}/transfer`, { queue: queue.value });
        }, queue) }, "Transfer"),
      h("label", {}, "Escalate because ", reason),
      h("button", { type: "button", id: "escalate", class: "plain",
        onclick: () => run(() => post(`/api/tickets/${ticket.id}/escalate`, { reason: reason.value || "needs a higher tier" }), reason) }, "Escalate")),
    error);
}

let tagsSaid = null; // { customer, text }: what the last Save tags said, kept across redraws

function customerPanel(customer) {
  const id = customer.id;
  const others = (customer.tickets || []).filter((t) => t.id !== openTicket);
  // A redraw (a live event) keeps what the agent is typing.
  const before = $("customer-tags");
  const editing = before && before.dataset.customer === String(id) && before.value !== before.dataset.saved;
  const saved = customer.tags.join(", ");
  // The save's own event redraws this panel at once: the status it set must outlive that.
  const said = tagsSaid && tagsSaid.customer === id ? tagsSaid.text : "";
  const status = h("span", { class: "hint", role: "status" }, said);
  const tags = h("input", { id: "customer-tags", value: editing ? before.value : saved, dataset: { customer: id, saved },
    oninput: () => { tagsSaid = null; status.textContent = ""; } });
  return h("section", { "aria-label": "Customer" },
    h("h3", {}, customer.name || `Customer #${customer.id}`),
    h("ul", { class: "items" }, customer.identities.map((i) => h("li", {}, `${i.kind}: ${i.value}`))),
    h("label", { for: "customer-tags" }, "Tags (comma separated)"), tags,
    h("button", { type: "button", class: "plain", onclick: async () => {
      const list = tags.value.split(",").map((t) => t.trim()).filter(Boolean);
      try {
        await send("PATCH", `/api/customers/${id}`, { tags: list });
        tags.dataset.saved = tags.value;
        tagsSaid = { customer: id, text: "saved" };
      } catch (e) { tagsSaid = { customer: id, text: e.message }; }
      const shown = $("customer-tags")?.parentElement?.querySelector("[role=status]");
      (shown || status).textContent = tagsSaid.text;
    } }, "Save tags"), status,
    h("h4", {}, "Other tickets"),
    others.length ? h("ul", { class: "items", id: "other-tickets" }, others.map((t) =>
      h("li", {}, h("a", { href: `#ticket-${t.id}`, onclick: (e) => { e.preventDefault(); showTicket(t.id, { focus: true }); } },
        `#${t.id} ${titleOf(t)}`), ` ${t.status}`))) : h("p", { class: "hint", id: "other-tickets" }, "None: this is their only ticket."),
    mergePanel(customer));
}

// The same person written to us twice (an email, then a text from a new number): find the
// other customer and merge them into this one (POST .../merge); a merge is undone by its
// Undo (POST .../unmerge). What was found and said outlives the redraws the merge causes.
let merging = null; // { customer, found: [...], said }

function mergePanel(customer) {
  const id = customer.id;
  const mine = merging && merging.customer === id ? merging : (merging = { customer: id, found: [], said: "" });
  const said = h("p", { class: "hint", role: "status", id: "merge-said" }, mine.said);
  const redraw = () => showTicket(openTicket);
  const act = async (work, text) => {
    try {
      await work();
      mine.said = text;
      mine.found = [];
    } catch (e) { mine.said = e.message; }
    redraw();
  };
  const find = async (event) => {
    event.preventDefault();
    const text = $("merge-text").value.trim();
    if (!text) return;
    try {
      const page = await get(`/api/customers?q=${encodeURIComponent(text)}&limit=10`);
      mine.found = page.items.filter((c) => c.id !== id);
      mine.said = mine.found.length ? "" : "No other customer found.";
    } catch (e) { mine.said = e.message; }
    redraw();
  };
  const live = (customer.merges || []).filter((m) => m.survivor === id && !m.undone_at);
  return h("section", { "aria-label": "Merge customers" },
    h("h4", {}, "Same person?"),
    h("form", { role: "search", "aria-label": "Find a customer to merge", onsubmit: find },
      h("label", { for: "merge-text" }, "Find another customer (email, @domain, phone or name)"),
      h("div", { class: "row" }, h("input", { id: "merge-text", type: "search", autocomplete: "off" }),
        h("button", { type: "submit", class: "plain" }, "Find"))),
    h("ul", { class: "items", id: "merge-found" }, mine.found.map((c) => h("li", {},
      `#${c.id} ${c.name || ""} `, h("span", { class: "hint" }, c.identities.map((i) => i.value).join(", ")), " ",
      h("button", { type: "button", class: "plain", "aria-label": `Merge #${c.id} into this customer`,
        onclick: () => act(() => post(`/api/customers/${id}/merge`, { other: c.id }), `Merged #${c.id} into #${id}.`) }, "Merge")))),
    live.length ? h("ul", { class: "items", "aria-label": "Merges" }, live.map((m) => h("li", {},
      `#${m.other} merged in by ${m.by} · ${when(m.at)} `,
      h("button", { type: "button", class: "plain", "aria-label": `Undo the merge of #${m.other}`,
        onclick: () => act(() => post(`/api/customers/${id}/unmerge`, { merge_id: m.id }), `Merge of #${m.other} undone.`) }, "Undo")))) : null,
    said);
}
