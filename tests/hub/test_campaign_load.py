"""Loading callback lists: CSV as spreadsheets write it, rejected rows with their lines."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.campaigns import Campaign, CampaignPolicy, CampaignSpec, CampaignState
from core.errors import InvalidRequest
from hub.campaigns.load import (
    MAX_LISTED,
    WORKER_NICENESS,
    ListLoad,
    LoadReport,
    load_do_not_call,
    worker_pool,
)
from storage.base import Store, open_store
from tests.support import T0

HEADER = "phone,name,email,external_ref,notes,preferred_time\n"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'lists.db'}")
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
async def campaign(store: Store) -> Campaign:
    spec = CampaignSpec("spring", "callbacks", state=CampaignState.RUNNING)
    return await store.create_campaign(spec, T0)


async def load(
    store: Store, campaign: Campaign, tmp_path: Path, data: bytes, **options: object
) -> LoadReport:
    path = tmp_path / "list.csv"
    path.write_bytes(data)
    job = ListLoad(store, campaign, "US", T0, **options)  # type: ignore[arg-type]  # options of several types, as tests pass them
    return await job.run(path)


def problems(report: LoadReport, kind: str) -> list[tuple[int, str]]:
    return [(p.line, p.reason) for p in report.problems if p.kind == kind]


async def test_a_spreadsheets_export_with_bom_and_semicolons(
    store: Store, campaign: Campaign, tmp_path: Path
) -> None:
    data = (
        "\ufeffTelephone;Full Name;E-mail;Notes\r\n"
        '(212) 555-0100;Ada Lovelace;ada@example.com;"calls back; after 5"\r\n'
        '+1 415 555 0101;"Grace ""Amazing"" Hopper";;"two\r\nlines"\r\n'
        "not a number;Bad;;\r\n"
    ).encode()
    report = await load(store, campaign, tmp_path, data)
    assert (report.delimiter, report.rows, report.accepted, report.invalid) == (";", 3, 2, 1)
    assert problems(report, "invalid") == [(5, "not a phone number: 'not a number'")]
    counts = await store.campaign_counts(campaign.id, [], T0)
    assert counts.by_state == {"queued": 2}


async def test_rows_are_numbered_as_the_file_shows_them(
    store: Store, campaign: Campaign, tmp_path: Path
) -> None:
    rows = [
        "2125550100,Ada,,,,",
        "",  # a blank line is skipped, but counted for the numbering
        "555-0100,No area code,,,,",
        '2125550101,"Multi',
        'line",,,,',
        "2125550102,Bad mail,nobody@,,,",
        "2125550103,Bad time,,,,soonish",
        "+44 20 7946 0958,London,,,,",
    ]
    report = await load(store, campaign, tmp_path, (HEADER + "\n".join(rows) + "\n").encode())
    assert report.accepted == 3
    assert [line for line, _ in problems(report, "invalid")] == [4, 7, 8]
    reasons = [reason for _, reason in problems(report, "invalid")]
    assert "not a valid phone number" in reasons[0]
    assert "not an email address" in reasons[1]
    assert "preferred_time 'soonish'" in reasons[2]


async def test_duplicates_in_the_list_and_in_the_campaign(
    store: Store, campaign: Campaign, tmp_path: Path
) -> None:
    first = await load(store, campaign, tmp_path, (HEADER + "2125550100,A\n").encode())
    assert first.accepted == 1
    data = HEADER + "(212) 555-0100,A again\n2125550101,B\n+1 212 555 0101,B again\n"
    second = await load(store, campaign, tmp_path, data.encode())
    assert (second.accepted, second.duplicate_in_campaign, second.duplicate_in_list) == (1, 1, 1)
    assert problems(second, "duplicate") == [(2, "in the campaign"), (4, "in the list")]


async def test_suppressed_numbers_are_counted_never_loaded(
    store: Store, campaign: Campaign, tmp_path: Path
) -> None:
    await store.add_do_not_call(["+12125550100"], "state list", T0)
    await store.set_sms_opt_out("phone:+12125550101", opted_out=True, at=T0)
    data = HEADER + "2125550100,A\n2125550101,B\n2125550102,C\n"
    report = await load(store, campaign, tmp_path, data.encode())
    assert (report.accepted, report.suppressed) == (1, 2)
    assert problems(report, "suppressed") == [
        (2, "do not call (state list)"),
        (3, "sms opt-out"),
    ]


async def test_bytes_that_are_not_utf8_make_their_row_invalid(
    store: Store, campaign: Campaign, tmp_path: Path
) -> None:
    data = HEADER.encode() + b"2125550100,Jos\xe9\n2125550101,Jose\n"
    report = await load(store, campaign, tmp_path, data)
    assert report.accepted == 1
    assert problems(report, "invalid") == [(2, "not UTF-8 text")]


async def test_an_explicit_mapping_reads_other_headers(
    store: Store, campaign: Campaign, tmp_path: Path
) -> None:
    data = b"Landline,Mobile,Who\n2125550100,6465550100,Ada\n"
    report = await load(store, campaign, tmp_path, data, explicit={"phone": "Mobile"})
    assert report.accepted == 1
    assert report.ignored_columns == ("Landline", "Who")
    lease = await store.next_contact(campaign.id, ["America/New_York"], "ann", T0, T0)
    assert lease is not None
    assert lease.contact.phone == "+16465550100"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"\n\n", "empty", id="blank"),
        pytest.param(b"name,email\nAda,a@b.co\n", "line 1: no phone column", id="no-phone"),
        pytest.param(
            b'phone\n"2125550100\n' + b"2125550101\n" * 30, "line 2: a quote opened", id="quote"
        ),
    ],
)
async def test_unusable_files_are_refused_whole_before_anything_is_stored(
    store: Store, campaign: Campaign, tmp_path: Path, data: bytes, message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message):
        await load(store, campaign, tmp_path, data)


async def test_batches_stream_and_the_report_stays_bounded(
    store: Store, campaign: Campaign, tmp_path: Path
) -> None:
    good = [f"212555{n:04d},Customer {n}" for n in range(40)]
    bad = [f"bad {n},Nobody" for n in range(MAX_LISTED + 20)]
    data = HEADER + "\n".join(good + bad) + "\n"
    report = await load(store, campaign, tmp_path, data.encode(), batch_rows=7)
    assert (report.rows, report.accepted, report.invalid) == (
        40 + MAX_LISTED + 20,
        40,
        MAX_LISTED + 20,
    )
    assert len(problems(report, "invalid")) == MAX_LISTED
    assert problems(report, "invalid")[0][0] == 42


async def test_a_process_pool_normalises_like_the_loop(
    store: Store, campaign: Campaign, tmp_path: Path
) -> None:
    data = HEADER + "".join(f"212555{n:04d},C{n}\n" for n in range(30)) + "oops,x\n"
    path = tmp_path / "list.csv"
    path.write_text(data)
    job = ListLoad(store, campaign, "US", T0, batch_rows=8, workers=2)
    with worker_pool(2) as pool:
        report = await job.run(path, pool)
    assert (report.accepted, report.invalid) == (30, 1)
    assert problems(report, "invalid") == [(32, "not a phone number: 'oops'")]


async def test_numbers_never_callable_under_the_policy_are_invalid(
    store: Store, tmp_path: Path
) -> None:
    policy = CampaignPolicy(hours="09:00-17:00")
    spec = CampaignSpec("tight", "callbacks", policy=policy)
    campaign = await store.create_campaign(spec, T0)
    data = HEADER + "+1 800 555 0100,Toll free\n+800 1234 5678,Nowhere\n2125550100,NY\n"
    report = await load(store, campaign, tmp_path, data.encode())
    assert report.accepted == 1
    reasons = [reason for _, reason in problems(report, "invalid")]
    assert reasons[0].startswith("never callable")
    assert reasons[1] == "time zone unknown and the campaign names none"


async def test_a_do_not_call_list_with_or_without_a_header(store: Store, tmp_path: Path) -> None:
    bare = tmp_path / "dnc.txt"
    bare.write_text("(212) 555-0100\n212-555-0100\nnope\n+1 415 555 0101\n")
    report = await load_do_not_call(store, bare, "national registry", "US", T0)
    assert (report.rows, report.added, report.already_listed, report.invalid) == (4, 2, 0, 1)
    assert [(p.line, p.kind) for p in report.problems] == [(3, "invalid")]
    with_header = tmp_path / "dnc.csv"
    with_header.write_text("Name;Phone\nAda;2125550100\nBob;6465550100\n")
    again = await load_do_not_call(store, with_header, "complaints", "US", T0)
    assert (again.added, again.already_listed) == (1, 1)
    entry = await store.get_do_not_call("+12125550100")
    assert entry is not None
    assert entry.source == "national registry"


STRUCTURE_ERRORS = [
    pytest.param(
        HEADER + '2125550100,Ada\n4155550101,"Grace\n6465550100,Bob\n',
        "line 3: a quote opened in this row is never closed; nothing was loaded",
        id="unclosed-quote-near-the-end",
    ),
    pytest.param(
        HEADER + "".join(f"212555{n:04d},C{n}\n" for n in range(20)) + '3125550100,"Al" Jr\n',
        "line 22: ',' expected after '\"'",
        id="text-after-a-closing-quote",
    ),
    pytest.param(
        HEADER + "".join(f"212555{n:04d},C{n}\n" for n in range(80)) + '3125550100,"Al\n',
        "line 82: a quote opened in this row is never closed",
        id="broken-after-the-first-chunks-were-normalised",
    ),
    pytest.param(
        HEADER + "2125550100,Ada\n" + '4155550101,"Grace\n' + "6465550100,x\n" * 30 + '"\n',
        "line 3: a quoted field runs over",
        id="quote-swallowing-the-rest",
    ),
]


@pytest.mark.parametrize(("text", "message"), STRUCTURE_ERRORS)
async def test_a_broken_csv_is_refused_with_its_line_and_nothing_is_loaded(
    store: Store, campaign: Campaign, tmp_path: Path, text: str, message: str
) -> None:
    """The whole file is checked first (batches of 7 would otherwise store the rows before)."""
    with pytest.raises(InvalidRequest, match=message.replace("(", r"\(")):
        await load(store, campaign, tmp_path, text.encode(), batch_rows=7)
    counts = await store.campaign_counts(campaign.id, [], T0)
    assert (counts.contacts, await store.campaign_slots(campaign.id)) == (0, [])


async def test_a_mapping_to_a_column_that_does_not_exist_says_so_and_lists_the_columns(
    store: Store, campaign: Campaign, tmp_path: Path
) -> None:
    data = b"Who;Cell\nAda;2125550100\n"
    with pytest.raises(InvalidRequest) as raised:
        await load(store, campaign, tmp_path, data, explicit={"phone": "Cell", "name": "Nom"})
    assert raised.value.message == (
        "line 1: no column 'Nom' (for name) in the header; its columns: 'Who', 'Cell'; "
        "nothing was loaded"
    )


async def test_a_duplicate_with_its_own_preferred_time_moves_no_window(
    store: Store, campaign: Campaign, tmp_path: Path
) -> None:
    await load(store, campaign, tmp_path, (HEADER + "2125550100,Ada\n").encode())
    again = HEADER + "2125550100,Ada,,,,evening\n"
    report = await load(store, campaign, tmp_path, again.encode())
    assert (report.accepted, report.duplicate_in_campaign) == (0, 1)
    assert await store.campaign_slots(campaign.id) == ["America/New_York"]


def test_normalising_workers_run_below_the_storing_process() -> None:
    """They take what the store and a running hub leave of the cores."""
    with worker_pool(1) as pool:
        assert pool.submit(os.nice, 0).result() == min(os.nice(0) + WORKER_NICENESS, 19)
