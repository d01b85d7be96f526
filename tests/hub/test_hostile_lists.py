"""Hostile callback lists: any CSV text is read into rows, each a contact or an invalid row
with its reason, or the file is refused whole with InvalidRequest naming the line. Never
another exception (the upload would answer 500)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from core.campaigns import CampaignPolicy, NewContact
from core.errors import InvalidRequest
from core.model import Role
from hub.campaigns import chunks
from router.campaign_lists import Invalid, Normaliser
from tests.conftest import Hub

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
PIECES = st.sampled_from([
    "phone", "name", "email", "Phone Number", "preferred_time", "notes", ",", ";", "\t", "|",
    '"', '""', "\n", "\r\n", "\r", " ", "\x00", "+12125550100", "(212) 555-0101", "morning",
    "2026-12-01T15:00-05:00", "ada@example.com", "\ufffd", "\ufeff", "x" * 300,
])  # fmt: skip
CSV_TEXT = st.lists(PIECES | st.text(max_size=5), max_size=60).map("".join)


@given(CSV_TEXT, st.booleans())
@example(text='phone,name\n"+12125550100,Ada\n', header_optional=False)  # a quote never closed
@example(text="phone\n" + '"\n' * 30, header_optional=False)  # a field over many lines
@example(text="+12125550100\n2125550101\n", header_optional=True)  # a bare list of numbers
@example(text="\rphone", header_optional=False)
@example(text='"', header_optional=False)  # the header's quote never closed: once a 500
def test_any_csv_is_rows_of_contacts_or_invalid_or_refused_whole(
    text: str, header_optional: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "list.csv"
        path.write_text(text, encoding="utf-8", errors="surrogatepass", newline="")
        try:
            plan = chunks.plan(path, 7, header_optional=header_optional)
        except InvalidRequest as exc:
            refusal = exc
            assert refusal.message
            return
        rows = [row for chunk in plan.chunks for row in chunks.rows(chunk)]
    normaliser = Normaliser(plan.columns, "US", CampaignPolicy(timezone="America/New_York"), NOW)
    for result in normaliser.rows(rows):
        assert isinstance(result, NewContact | Invalid)


async def test_an_upload_whose_header_never_closes_its_quote_is_400(hub: Hub) -> None:
    auth = await hub.token(Role.SUPERVISOR, "sue")
    body = {"name": "spring", "state": "running"}
    async with hub.http.post("/api/campaigns", json=body, headers=auth) as created:
        assert created.status == 201, await created.text()
    headers = {**auth, "Content-Type": "text/csv"}
    path = "/api/campaigns/spring/contacts"
    async with hub.http.post(path, data=b'"phone,name\n+12125550100,Ada\n', headers=headers) as r:
        assert r.status == 400, await r.text()
        assert "line 1" in (await r.json())["error"]
