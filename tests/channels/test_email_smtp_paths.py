"""The listener's fast reading of MAIL/RCPT paths gives what aiosmtpd's full parser gives."""

from __future__ import annotations

from aiosmtpd.smtp import SMTP
from hypothesis import given
from hypothesis import strategies as st

from channels.email.smtp import _ListenerSMTP


class _NoHandler:
    pass


STOCK, OURS = SMTP(_NoHandler()), _ListenerSMTP(_NoHandler())
PIECES = ["<", ">", "@", ".", "a", "Z", "9", "-", "+", '"', " ", "\t", "(", ")", "[", "]",
          ":", ",", "x.example", "SIZE=1", "é", "\\"]  # fmt: skip


def read(session: SMTP, path: str) -> object:
    try:
        return session._getaddr(path)
    except Exception as exc:  # noqa: BLE001  # aiosmtpd's parser fails on some junk (e.g. "<")
        return type(exc)


@given(st.lists(st.sampled_from(PIECES), max_size=16))
def test_paths_read_as_aiosmtpd_reads_them(pieces: list[str]) -> None:
    path = "".join(pieces)
    assert read(OURS, path) == read(STOCK, path)


@given(st.emails())
def test_real_addresses_read_as_aiosmtpd_reads_them(address: str) -> None:
    for path in (f"<{address}>", f" <{address}> SIZE=1000 BODY=8BITMIME"):
        assert OURS._getaddr(path) == STOCK._getaddr(path)
