"""Saved replies on Redis: a mixin of `RedisStore` (core/saved_replies.py).

A save is one call of lua/saved.lua (the keys are described there), so its name check, the
limit and the write are one step: two hubs saving one name at once keep one. The name key
is computed here, since Lua cannot case-fold, and travels in the reply's JSON so a rename can
free the old one. The list is one HGETALL, a consistent view, ordered here by that key.
"""

from __future__ import annotations

from datetime import datetime

from core.errors import Conflict, NotFound
from core.json_text import dumps, loads
from core.saved_replies import MAX_SAVED_REPLIES, SavedReply, SavedReplyDraft, name_key
from storage.redis.live import Live
from storage.redis.options import translated
from storage.sqlite.rows import dt


class RedisSavedReplies:
    """The team's saved replies on Redis."""

    @property
    def _live(self) -> Live:
        raise NotImplementedError  # RedisStore's open connection

    def key(self, *parts: str | int) -> str:
        raise NotImplementedError  # RedisStore's key names

    @translated
    async def list_saved_replies(self) -> list[SavedReply]:
        stored: dict[str, str] = await self._live.client.hgetall(self.key("saved"))
        replies = (_reply(int(reply_id), text) for reply_id, text in stored.items())
        return sorted(replies, key=lambda reply: name_key(reply.name))

    @translated
    async def save_reply(
        self, reply_id: int | None, draft: SavedReplyDraft, by: str, now: datetime
    ) -> SavedReply:
        key = name_key(draft.name)
        text = dumps({
            "name": draft.name, "key": key, "body": draft.body, "queues": draft.queues,
            "updated_by": by, "updated_at": now.timestamp(),
        })  # fmt: skip
        outcome, *found = await self._live.scripts.run(
            "saved", "save", "" if reply_id is None else reply_id, key, text, MAX_SAVED_REPLIES
        )
        if outcome == "taken":
            raise Conflict(f"a saved reply is named {draft.name!r} already (id {found[0]})")
        if outcome == "full":
            raise Conflict(f"the hub keeps {MAX_SAVED_REPLIES} saved replies at most")
        if outcome == "missing":
            raise NotFound("saved reply", reply_id)
        return _reply(int(found[0]), text)

    @translated
    async def delete_saved_reply(self, reply_id: int) -> None:
        if not await self._live.scripts.run("saved", "delete", reply_id):
            raise NotFound("saved reply", reply_id)


def _reply(reply_id: int, text: str) -> SavedReply:
    data = loads(text)
    return SavedReply(
        reply_id, data["name"], data["body"], tuple(data["queues"]), data["updated_by"],
        dt(data["updated_at"]),
    )  # fmt: skip
