// The page's start: sign in (or find the session), then the views and the live stream.

import * as api from "./api.js";
import { onEvent as agentEvent, refresh, startAgent } from "./agent.js";
import { $ } from "./dom.js";
import { onDepth, onEvent as supervisorEvent, startSupervisor } from "./supervisor.js";

const NAMES = ["ticket.created", "ticket.updated", "message.created", "message.updated",
  "offer.created", "offer.expired", "offer.rejected", "offer.withdrawn", "sla.warning", "sla.breached"];

async function begin(who) {
  $("sign-in").hidden = true;
  $("bar").hidden = false;
  $("agent").hidden = false;
  $("who").textContent = `${who.name} (${who.roles.join(", ")})`;
  const supervisor = who.roles.some((r) => r === "supervisor" || r === "admin");
  $("tab-supervisor").hidden = !supervisor;
  const me = await api.get("/api/me");
  $("presence").value = me.presence;
  $("presence").onchange = () => api.post("/api/agents/me/presence", { status: $("presence").value });
  $("sign-out").onclick = async () => { await api.signOut(); location.reload(); };
  $("tab-agent").onclick = () => show("agent");
  $("tab-supervisor").onclick = () => show("supervisor");
  await startAgent(who);
  if (supervisor) await startSupervisor();
  const handlers = Object.fromEntries(NAMES.map((name) => [name, (data) => {
    agentEvent(data, name);
    if (supervisor) supervisorEvent(data, name);
  }]));
  handlers["queue.depth"] = onDepth;
  handlers["resync"] = () => refresh();
  let wasLive = false;
  api.stream(handlers, (live) => {
    $("live").textContent = live ? "live" : "reconnecting…";
    $("live").classList.toggle("on", live);
    if (live && wasLive === false) {
      refresh();
      if (supervisor) supervisorEvent();
    }
    wasLive = live;
  });
}

function show(view) {
  $("agent").hidden = view !== "agent";
  $("supervisor").hidden = view !== "supervisor";
  $("tab-agent").setAttribute("aria-pressed", String(view === "agent"));
  $("tab-supervisor").setAttribute("aria-pressed", String(view === "supervisor"));
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
