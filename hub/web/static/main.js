// The page's start: sign in (or find the session), then the views and the live stream.

import * as api from "./api.js";
import { onDepth as agentDepth, onEvent as agentEvent, refresh, startAgent } from "./agent.js";
import { startCampaigns } from "./campaigns.js";
import { $ } from "./dom.js";
import { onDepth, onEvent as supervisorEvent, startSupervisor } from "./supervisor.js";

const NAMES = ["ticket.created", "ticket.updated", "message.created", "message.updated",
  "offer.created", "offer.expired", "offer.rejected", "offer.withdrawn", "sla.warning", "sla.breached"];

async function begin(who) {
  if (who.roles.length === 0) {
    // Roles taken away since signing in: the session opens nothing, so end it and say why.
    await api.signOut();
    $("sign-in-error").textContent =
      `${who.name}'s token grants no role now; an admin gives one (contacthub agent add ${who.name} --role agent).`;
    return;
  }
  $("sign-in").hidden = true;
  $("bar").hidden = false;
  $("who").textContent = `${who.name} (${who.roles.join(", ")})`;
  const holds = (...roles) => who.roles.some((r) => roles.includes(r));
  const supervisor = holds("supervisor", "admin");
  const agent = holds("agent", "supervisor", "admin");
  $("tab-agent").hidden = !agent;
  $("tab-supervisor").hidden = !supervisor;
  $("tab-campaigns").hidden = !holds("outbound", "supervisor", "admin");
  const me = await api.get("/api/me");
  $("presence").parentElement.hidden = !agent;
  $("presence").value = me.presence;
  $("presence").onchange = async () => {
    try {
      await api.post("/api/agents/me/presence", { status: $("presence").value });
    } catch (error) {
      $("live").textContent = error.message;
    }
  };
  $("sign-out").onclick = async () => { await api.signOut(); location.reload(); };
  $("tab-agent").onclick = () => show("agent");
  $("tab-supervisor").onclick = () => show("supervisor");
  $("tab-campaigns").onclick = () => show("campaigns");
  if (agent) await startAgent(who);
  if (supervisor) await startSupervisor();
  if (!$("tab-campaigns").hidden) await startCampaigns();
  show(agent ? "agent" : "campaigns");
  const handlers = Object.fromEntries(NAMES.map((name) => [name, (data) => {
    if (agent) agentEvent(data, name);
    if (supervisor) supervisorEvent(data, name);
  }]));
  handlers["queue.depth"] = (depth) => {
    if (agent) agentDepth(depth);
    if (supervisor) onDepth(depth);
  };
  handlers["resync"] = () => agent && refresh();
  let wasLive = false;
  api.stream(handlers, (live) => {
    $("live").textContent = live ? "live" : "reconnecting…";
    $("live").classList.toggle("on", live);
    if (live && wasLive === false) {
      if (agent) refresh();
      if (supervisor) supervisorEvent();
    }
    wasLive = live;
  });
}

function show(view) {
  for (const name of ["agent", "supervisor", "campaigns"]) {
    $(name).hidden = view !== name;
    $(`tab-${name}`).setAttribute("aria-pressed", String(view === name));
  }
}

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("sign-in-error").textContent = "";
  try {
    const who = await api.signIn($("token").value);
    $("token").value = "";
    await begin(who);
  } catch (error) {
    $("sign-in-error").textContent = error.message;
  }
});

api.whoami().then((who) => { if (who) begin(who); });
