"""Who may call each operation: `x-roles` of the OpenAPI document, and `security: []` for the
public ones. The roles are checked by the handlers (hub/api/auth.py `require`, campaigns'
`runner`); tests/hub/api/test_role_matrix.py calls every operation with a token of every
role and none, and holds the handlers to this table.

An operation a role may call can still refuse part of a change (an agent moving a ticket
to another queue, setting another's presence: 403); the summaries say which.
"""

from __future__ import annotations

from typing import Any

from core.model import Role

READ = (Role.AGENT, Role.SUPERVISOR, Role.OUTBOUND, Role.ADMIN)  # every role may read
AGENT = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
SUPERVISOR = (Role.SUPERVISOR, Role.ADMIN)
RUNNER = (Role.OUTBOUND, Role.SUPERVISOR, Role.ADMIN)  # who runs campaigns
ADMIN = (Role.ADMIN,)

ROLES: dict[tuple[str, str], tuple[Role, ...]] = {
    ("get", "/api/tickets"): READ,
    ("get", "/api/tickets/{id}"): READ,
    ("patch", "/api/tickets/{id}"): AGENT,
    ("post", "/api/tickets/{id}/reply"): AGENT,
    ("post", "/api/tickets/{id}/follow-up"): AGENT,
    ("post", "/api/tickets/{id}/notes"): AGENT,
    ("post", "/api/tickets/{id}/transfer"): AGENT,
    ("post", "/api/tickets/{id}/escalate"): AGENT,
    ("get", "/api/tickets/{id}/events"): READ,
    ("get", "/api/tickets/{id}/messages/{message_id}/attachments/{n}"): READ,
    ("post", "/api/tickets/{id}/typing"): AGENT,
    ("get", "/api/tickets/{id}/typing"): AGENT,
    ("get", "/api/queues"): READ,
    ("get", "/api/queues/{name}/waiting"): READ,
    ("post", "/api/queues/{name}/claim"): AGENT,
    ("get", "/api/customers"): READ,
    ("get", "/api/customers/{id}"): READ,
    ("patch", "/api/customers/{id}"): AGENT,
    ("post", "/api/customers/{id}/merge"): AGENT,
    ("post", "/api/customers/{id}/unmerge"): AGENT,
    ("post", "/api/customers/{id}/erase"): ADMIN,  # erasure is for the data controller
    ("get", "/api/campaigns"): READ,
    ("post", "/api/campaigns"): RUNNER,
    ("get", "/api/campaigns/{id}"): READ,
    ("post", "/api/campaigns/{id}/start"): RUNNER,
    ("post", "/api/campaigns/{id}/pause"): RUNNER,
    ("post", "/api/campaigns/{id}/stop"): RUNNER,
    ("post", "/api/campaigns/{id}/contacts"): RUNNER,
    ("get", "/api/campaigns/{id}/contacts/{contact_id}"): READ,
    ("post", "/api/campaigns/{id}/next"): RUNNER,
    ("post", "/api/campaigns/{id}/dial"): RUNNER,
    ("put", "/api/campaigns/{id}/agents/me"): RUNNER,
    ("post", "/api/campaigns/{id}/attempts/{attempt_id}"): RUNNER,
    ("get", "/api/campaigns/{id}/stats"): READ,
    ("post", "/api/do-not-call"): RUNNER,
    ("get", "/api/do-not-call/{phone}"): READ,
    ("delete", "/api/do-not-call/{phone}"): SUPERVISOR,
    ("get", "/api/saved-replies"): READ,
    ("post", "/api/saved-replies"): SUPERVISOR,
    ("put", "/api/saved-replies/{id}"): SUPERVISOR,
    ("delete", "/api/saved-replies/{id}"): SUPERVISOR,
    ("get", "/api/me"): READ,
    ("get", "/api/agents"): READ,
    ("get", "/api/agents/{name}"): READ,
    ("put", "/api/agents/{name}"): SUPERVISOR,
    ("post", "/api/agents/{name}/presence"): AGENT,
    ("get", "/api/offers"): AGENT,
    ("post", "/api/offers/{id}/accept"): AGENT,
    ("post", "/api/offers/{id}/reject"): AGENT,
    ("get", "/api/rules"): READ,
    ("put", "/api/rules"): SUPERVISOR,
    ("get", "/api/rules/versions"): READ,
    ("get", "/api/rules/versions/{id}"): READ,
    ("post", "/api/rules/versions/{id}/restore"): SUPERVISOR,
    ("post", "/api/rules/simulate"): SUPERVISOR,
    ("post", "/api/rules/test"): READ,
    ("get", "/api/events"): READ,
    ("get", "/api/reports/summary"): SUPERVISOR,
    ("get", "/api/reports/volume"): SUPERVISOR,
    ("get", "/api/reports/tickets"): SUPERVISOR,
}
PUBLIC = frozenset({("get", "/api/openapi.json")})
_METHODS = frozenset({"get", "put", "post", "patch", "delete"})


def document_roles(paths: dict[str, Any]) -> None:
    """Write `x-roles` into every operation of `paths`; public ones get `security: []` and
    lose the 401/403 they cannot answer. An operation missing from the table is an error
    at import: a new endpoint must say who may call it."""
    for path, item in paths.items():
        for method in _METHODS & item.keys():
            operation = item[method]
            if (method, path) in PUBLIC or operation.get("security") == []:
                operation["security"] = []
                for status in ("401", "403"):
                    operation["responses"].pop(status, None)
            elif (method, path) in ROLES:
                operation["x-roles"] = [str(role) for role in ROLES[method, path]]
            else:
                raise KeyError(f"{method.upper()} {path}: no roles in hub/api/openapi_roles.py")
