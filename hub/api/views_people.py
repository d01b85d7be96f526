"""The JSON of people and offers, as the API answers them."""

from __future__ import annotations

from core.people import CHANNELS, Agent, Offer, TokenInfo
from hub.api.views import Json, iso


def agent_json(agent: Agent) -> Json:
    return {
        "name": agent.name,
        "roles": sorted(agent.roles),
        "skills": sorted(agent.skills),
        "capacity": {ch: agent.capacity_on(ch) for ch in CHANNELS},
        "load": {ch: agent.load_on(ch) for ch in CHANNELS},
        "queues": sorted(agent.queues),  # [] serves every queue
        "presence": agent.presence,
        "seen_at": iso(agent.seen_at),
        "online_since": iso(agent.online_since),
        "last_offered_at": iso(agent.last_offered_at),
        "last_assigned_at": iso(agent.last_assigned_at),
        "created_at": iso(agent.created_at),
    }


def offer_json(offer: Offer) -> Json:
    return {
        "id": offer.id,
        "ticket_id": offer.ticket_id,
        "agent": offer.agent,
        "queue": offer.queue,
        "channel": offer.channel,
        "state": offer.state,
        "created_at": iso(offer.created_at),
        "deadline": iso(offer.deadline),
        "answered_at": iso(offer.answered_at),
        "explanation": list(offer.explanation),
    }


def token_info_json(token: TokenInfo) -> Json:
    return {
        "id": token.id,
        "name": token.name,
        "role": token.role,  # null: every role of the agent
        "created_at": iso(token.created_at),
        "revoked_at": iso(token.revoked_at),
    }
