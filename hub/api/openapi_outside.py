"""The routes outside /api/ in the OpenAPI document: operations, providers' webhooks, the
web face and the chat widget. None takes a bearer token (`security: []`): a webhook is
authenticated by its provider's signature (403 when it does not match), the web face by
its session cookie, the chat by its signed visitor token."""

from __future__ import annotations

from typing import Any

from hub.api.openapi_shapes import ERROR

_PLAIN = {"description": "ok"}
_NO_CONTENT = {"description": "done, nothing to say"}
_SIGNED = {"400": ERROR, "403": ERROR, "413": ERROR, "503": ERROR}
"""What every webhook may answer besides its success: malformed, forged or stale, too
large, the store away (the provider retries)."""
_TWIML = {
    "description": "TwiML",
    "content": {"application/xml": {"schema": {"type": "string"}}},
}


def _public(summary: str, responses: dict[str, Any], tag: str) -> dict[str, Any]:
    return {"summary": summary, "tags": [tag], "security": [], "responses": responses}


def _webhook(summary: str, success: dict[str, Any]) -> dict[str, Any]:
    return {"post": _public(summary, {**success, **_SIGNED}, "webhooks")}


_VOICE_STEPS = {
    "menu": "The caller's menu choice (Gather)",
    "recorded": "A voicemail's recording finished",
    "recording": "A voicemail's recording is ready",
    "transcription": "A voicemail's transcription is ready",
    "queue": "The caller waits in the queue: the hold message",
    "dialed": "The <Dial> to an agent ended",
}
_DIALER_STEPS: dict[str, tuple[str, dict[str, Any]]] = {
    "agent": ("The agent answered: they join the conference", {"200": _TWIML}),
    "answer": ("The contact answered (or a machine did)", {"200": _TWIML}),
    "status": ("The contact's call status", {"204": _NO_CONTENT}),
    "agent-status": ("The agent's call status", {"204": _NO_CONTENT}),
}

PATHS: dict[str, Any] = {
    "/healthz": {"get": _public("The process is up", {"200": _PLAIN}, "operations")},
    "/readyz": {
        "get": _public(
            "The store answers (503 with the failing check otherwise)",
            {"200": _PLAIN, "503": ERROR},
            "operations",
        )
    },
    "/metrics": {
        "get": _public(
            "Prometheus metrics",
            {"200": {"description": "text/plain; version=0.0.4"}},
            "operations",
        )
    },
    "/webhooks/form": _webhook(
        "A signed web form (HMAC of the body in X-Contacthub-Signature)",
        {"201": {"description": "a new ticket"}, "200": {"description": "appended or a duplicate"}},
    ),
    "/webhooks/slack/events": _webhook("Slack's Events API (signed by Slack)", {"200": _PLAIN}),
    "/webhooks/twilio/sms": _webhook("An SMS or MMS (signed by Twilio)", {"200": _TWIML}),
    "/webhooks/twilio/sms/status": _webhook(
        "An outbound SMS's delivery status", {"204": _NO_CONTENT}
    ),
    "/webhooks/twilio/voice": _webhook("An incoming call: the IVR", {"200": _TWIML}),
    **{
        f"/webhooks/twilio/voice/{step}": _webhook(summary, {"200": _TWIML, "204": _NO_CONTENT})
        for step, summary in _VOICE_STEPS.items()
    },
    "/webhooks/twilio/voice/status": _webhook("A call's status", {"204": _NO_CONTENT}),
    **{
        f"/webhooks/twilio/dialer/{step}": _webhook(summary, success)
        for step, (summary, success) in _DIALER_STEPS.items()
    },
    "/": {"get": _public("The web face (HTML)", {"200": _PLAIN}, "web")},
    "/web/static/{name}": {
        "parameters": [
            {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "get": _public("A file of the web face", {"200": _PLAIN, "404": ERROR}, "web"),
    },
    "/web/session": {
        "post": _public(
            "Sign in with a token: a session cookie and its CSRF token",
            {"200": _PLAIN, "400": ERROR, "401": ERROR},
            "web",
        ),
        "get": _public(
            "The session's person and roles (204: the browser holds no session)",
            {"200": _PLAIN, "204": _NO_CONTENT, "401": ERROR},
            "web",
        ),
        "delete": _public(
            "Sign out (X-CSRF-Token required)",
            {"204": _NO_CONTENT, "401": ERROR, "403": ERROR},
            "web",
        ),
    },
    "/chat/ws": {
        "get": _public(
            "The chat visitor's WebSocket",
            {"101": {"description": "switching protocols"}, "400": ERROR, "403": ERROR},
            "chat",
        )
    },
    "/chat/widget.js": {"get": _public("The chat widget's script", {"200": _PLAIN}, "chat")},
    "/chat/demo": {"get": _public("A page with the chat widget", {"200": _PLAIN}, "chat")},
}
