// What the agent writes to a customer with: the team's saved replies, put in a reply box, and
// a closed ticket's follow-up.

import { get, post } from "./api.js";
import { fill, h } from "./dom.js";

// A closed ticket's follow-up (POST /api/tickets/{id}/follow-up): a message to its customer as
// the first of a new ticket, the agent's, handed to `opened` once it is made.
export function followUp(ticket, error, opened) {
  const way = ticket.follow_up || { refused: "a follow-up cannot be sent" };
  const off = Boolean(way.refused);
  const to = ["email", "sms"].includes(way.channel) ? ` to ${way.to}` : "";
  const box = h("textarea", { id: "follow-up-body", rows: 3, disabled: off,
    "aria-describedby": off ? "follow-up-way" : null });
  const send = async () => {
    error.textContent = "";
    try {
      const made = await post(`/api/tickets/${ticket.id}/follow-up`, { body: box.value });
      opened(made.ticket.id);
    } catch (e) { error.textContent = e.message; }
  };
  return [
    h("div", { class: "reply-head" },
      h("label", { for: "follow-up-body" }, off ? "Follow up" : `Follow up on a new ticket (by ${way.channel}${to})`),
      off ? null : savedReplyChoice(ticket, box)),
    box,
    off ? h("p", { class: "hint", id: "follow-up-way" }, way.refused) : null,
    h("div", { class: "row" }, h("button", { type: "button", id: "send-follow-up", disabled: off, onclick: send },
      "Send as a new ticket")),
  ];
}

// The team's saved replies for the ticket's queue, filled in for it (GET /api/saved-replies
// ?ticket=): one chosen goes into the reply box at the cursor, for the agent to edit. A redraw
// draws the last list of the same ticket at once (no flicker), then asks again.
let savedReplies = { ticket: null, items: [] };
let savedAsked = 0; // the newest ask: an older one answering later keeps nothing

export function savedReplyChoice(ticket, reply) {
  let items = [];
  const select = h("select", { id: "saved-reply", onchange: () => {
    const chosen = items.find((r) => String(r.id) === select.value);
    select.value = "";
    if (chosen) insertText(reply, chosen.text);
  } });
  const choice = h("span", { class: "saved-reply", hidden: true },
    h("label", { for: "saved-reply" }, "Saved reply"), " ", select);
  const draw = (found) => {
    items = found;
    fill(select, h("option", { value: "" }, "insert a saved reply…"), found.map((r) => h("option", { value: r.id }, r.name)));
    choice.hidden = !found.length;
  };
  if (savedReplies.ticket === ticket.id) draw(savedReplies.items);
  const ask = ++savedAsked;
  get(`/api/saved-replies?ticket=${ticket.id}`).then((found) => {
    if (ask !== savedAsked) return;
    savedReplies = { ticket: ticket.id, items: found.items };
    // A redraw meanwhile drew another list; redrawing the same one would close it while open.
    if (select.isConnected && JSON.stringify(found.items) !== JSON.stringify(items)) draw(found.items);
  }).catch(() => { /* none offered: the reply box works without them */ });
  return choice;
}

// `text` in place of the box's selection (at its cursor), the cursor after it; the box's own
// `input` (the typing notice) follows, as for typed text.
function insertText(box, text) {
  box.setRangeText(text, box.selectionStart, box.selectionEnd, "end");
  box.focus();
  box.dispatchEvent(new Event("input", { bubbles: true }));
}
