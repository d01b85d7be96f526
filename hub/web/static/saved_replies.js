// Saved replies on the supervisor's page: the team's answers, which the agents' reply box
// offers filled in per ticket.

import { get, post, send } from "./api.js";
import { $, fill, h, when } from "./dom.js";

let queueNames = () => []; // the queues the page knows (the supervisor's live depths)

export function startSavedReplies(knownQueues) {
  queueNames = knownQueues;
  $("saved-edit").onsubmit = saveReply;
  $("saved-cancel").onclick = () => editReply(null);
  editReply(null);
  loadSavedReplies();
}

// Listed, written in one form (POST a new one, PUT the one edited) and deleted. A refusal (an
// unknown placeholder, a name taken) is said with the API's reason, and nothing else changes.
let savedEditing = null; // the reply the form edits; null: a new one

async function loadSavedReplies() {
  const replies = (await get("/api/saved-replies")).items;
  $("saved-none").hidden = replies.length > 0;
  fill($("saved-replies").tBodies[0], replies.map((r) => h("tr", { dataset: { reply: r.id } },
    h("th", { scope: "row" }, r.name),
    h("td", {}, r.queues.join(", ") || "every queue"),
    h("td", {}, `${r.updated_by} · ${when(r.updated_at)}`),
    h("td", { class: "acts" },
      h("button", { type: "button", class: "plain", "aria-label": `Edit ${r.name}`, onclick: () => editReply(r) }, "Edit"),
      h("button", { type: "button", class: "plain", "aria-label": `Delete ${r.name}`, onclick: () => deleteReply(r) }, "Delete")))));
}

// The form for `reply` (null: a new one); the queues to tick are the rules' (and any the
// reply names that they no longer have, so it is seen and can be unticked).
function editReply(reply) {
  savedEditing = reply;
  const chosen = reply ? reply.queues : [];
  const queues = [...new Set([...queueNames(), ...chosen])].sort();
  $("saved-edit-title").textContent = reply ? `Edit ${reply.name}` : "New saved reply";
  $("saved-name").value = reply ? reply.name : "";
  $("saved-body").value = reply ? reply.body : "";
  fill($("saved-queues"), h("legend", {}, "Queues (none ticked: every queue)"), queues.map((q) => h("label", { class: "check" },
    h("input", { type: "checkbox", name: "saved-queue", value: q, checked: chosen.includes(q) }), ` ${q}`)));
  $("saved-error").textContent = "";
  $("saved-said").textContent = "";
  if (reply) $("saved-edit-title").focus();
}

async function saveReply(event) {
  event.preventDefault();
  const queues = [...$("saved-queues").querySelectorAll("input:checked")].map((i) => i.value);
  const reply = { name: $("saved-name").value, body: $("saved-body").value, queues };
  try {
    const saved = savedEditing
      ? await send("PUT", `/api/saved-replies/${savedEditing.id}`, reply)
      : await post("/api/saved-replies", reply);
    editReply(null);
    $("saved-said").textContent = `Saved ${saved.name}.`;
    await loadSavedReplies();
  } catch (e) {
    $("saved-said").textContent = "";
    $("saved-error").textContent = e.message;
  }
}

async function deleteReply(reply) {
  if (!confirm(`Delete the saved reply "${reply.name}"? Agents will no longer be offered it.`)) return;
  try {
    await send("DELETE", `/api/saved-replies/${reply.id}`);
    if (savedEditing && savedEditing.id === reply.id) editReply(null);
    $("saved-error").textContent = "";
    $("saved-said").textContent = `Deleted ${reply.name}.`;
    await loadSavedReplies();
  } catch (e) {
    $("saved-said").textContent = "";
    $("saved-error").textContent = e.message;
  }
}
