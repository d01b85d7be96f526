"""MIME -> Inbound: text, threading keys, dedupe keys, attachments, automatic mail, bounces."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import compat32
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.email.mime import MAX_DEPTH, MimeLimits, make_message_id, parse_email
from channels.email.structure import IndexedMessage, body_digest, decoded_payload, read_message
from channels.email.text import header_text, html_to_text, split_quoted
from tests.support import T0

CORPUS = Path(__file__).resolve().parents[1] / "data" / "email"
CORPUS_FILES = sorted(CORPUS.rglob("*.eml"))


def mail(body: str = "Hello, my order is late.", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = headers.pop("From", "Ada Lovelace <Ada@Example.com>")
    message["To"] = headers.pop("To", "support@hub.example")
    message["Subject"] = headers.pop("Subject", "Order 1042")
    message["Message-ID"] = headers.pop("Message_ID", "<m1@example.com>")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def test_corpus_is_there() -> None:
    assert len(CORPUS_FILES) >= 100


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_every_corpus_message_parses_to_a_contact(path: Path) -> None:
    raw = path.read_bytes()
    parsed = parse_email(raw, T0)
    inbound = parsed.for_mailbox("Support@Hub.example")
    assert inbound.channel == "email"
    assert inbound.sender.kind == "email"
    assert "@" in inbound.sender.value
    assert inbound.dedupe_key.startswith("email:support@hub.example:")
    assert inbound.recipient == "support@hub.example"
    assert "\r" not in inbound.text
    stored = [a for a in inbound.attachments if a.sha256]
    assert len(stored) == len(parsed.blobs)
    assert parse_email(raw, T0).for_mailbox("support@hub.example").key == inbound.key


def test_plain_message_becomes_sender_subject_text_and_keys() -> None:
    parsed = parse_email(mail(), T0)
    inbound = parsed.for_mailbox("support@hub.example")
    assert inbound.sender.key == "email:ada@example.com"
    assert inbound.sender_name == "Ada Lovelace"
    assert (inbound.subject, inbound.text) == ("Order 1042", "Hello, my order is late.")
    assert inbound.external_id == "<m1@example.com>"
    assert inbound.thread_keys == ("email:support@hub.example:<m1@example.com>",)
    assert inbound.dedupe_key == (
        f"email:support@hub.example:<m1@example.com>:{parsed.digest[:16]}"
    )
    assert "automatic" not in inbound.meta


def test_reused_message_id_with_another_body_is_another_contact() -> None:
    one = parse_email(mail("first"), T0).for_mailbox("s@h.example")
    two = parse_email(mail("second"), T0).for_mailbox("s@h.example")
    again = parse_email(b"Received: by relay\r\n" + mail("first"), T0).for_mailbox("s@h.example")
    assert one.key != two.key
    assert one.key == again.key  # a relay's extra header is the same message


def test_message_without_message_id_gets_a_digest_key() -> None:
    raw = mail(Message_ID="")
    inbound = parse_email(raw, T0).for_mailbox("s@h.example")
    assert inbound.external_id.startswith("digest:")
    assert ":digest:" in inbound.dedupe_key
    assert inbound.key == parse_email(raw, T0).for_mailbox("s@h.example").key


def test_each_mailbox_has_its_own_dedupe_key() -> None:
    parsed = parse_email(mail(), T0)
    assert parsed.for_mailbox("a@h.example").key != parsed.for_mailbox("b@h.example").key


def test_threading_keys_come_in_order_replies_to_ours_first_subject_token_last() -> None:
    ours = make_message_id(7, 31, "ab12", "hub.example")
    raw = mail(
        Subject="Re: Order [#42]",
        In_Reply_To="<b@x>",
        References=f"<a@x> {ours} <b@x>",
    )
    inbound = parse_email(raw, T0).inbound
    assert inbound.thread_keys == (
        "ticket:7",
        "email:<b@x>",
        "email:<a@x>",
        "email:<m1@example.com>",
        "ticket:42",
    )
    assert inbound.meta["ticket_hint"] == "42"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto_Submitted": "auto-replied"}, "auto-submitted: auto-replied"),
        ({"Precedence": "bulk"}, "precedence: bulk"),
        ({"X_Auto_Response_Suppress": "All"}, "header: x-auto-response-suppress"),
        ({"From": "MAILER-DAEMON@relay.example"}, "mailer-daemon sender"),
    ],
    ids=["auto-submitted", "precedence", "x-auto-response-suppress", "mailer-daemon"],
)
def test_automatic_mail_is_flagged(headers: dict[str, str], reason: str) -> None:
    assert parse_email(mail(**headers), T0).inbound.meta["automatic"] == reason


def test_auto_submitted_no_and_empty_envelope_sender() -> None:
    assert "automatic" not in parse_email(mail(Auto_Submitted="no"), T0).inbound.meta
    meta = parse_email(mail(), T0, envelope_from="").inbound.meta
    assert meta["automatic"] == "empty sender"


def test_bounce_names_the_failed_message() -> None:
    ours = make_message_id(3, 9, "ff00", "hub.example")
    raw = (
        "From: MAILER-DAEMON@mx.example\r\nTo: support@hub.example\r\nSubject: Undelivered\r\n"
        "Message-ID: <dsn1@mx.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        "Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@hub.example\r\nMessage-ID: {ours}\r\nSubject: Re: x\r\n"
        "--B--\r\n"
    ).encode()
    meta = parse_email(raw, T0).inbound.meta
    assert (meta["bounce_of"], meta["bounce_status"]) == (ours, "5.1.1")
    assert meta["automatic"] == "delivery report"


def test_html_only_message_is_read_as_text_and_quotes_are_separated() -> None:
    message = EmailMessage()
    message["From"] = "ada@example.com"
    message.set_content(
        "<html><head><style>p{}</style></head><body><p>Still broken &amp; late.</p>"
        "<div>On Mon, Bob wrote:</div><blockquote><p>Fixed?</p></blockquote></body></html>",
        subtype="html",
    )
    inbound = parse_email(message.as_bytes(), T0).inbound
    assert inbound.text == "Still broken & late."
    assert inbound.meta["quoted"] == "On Mon, Bob wrote:\n> Fixed?"


def test_attachments_are_referenced_and_limits_drop_bytes_not_the_message() -> None:
    message = EmailMessage()
    message["From"] = "ada@example.com"
    message.set_content("see attached")
    message.add_attachment(b"%PDF small", maintype="application", subtype="pdf", filename="a.pdf")
    message.add_attachment(b"x" * 5000, maintype="image", subtype="png", filename="big.png")
    parsed = parse_email(message.as_bytes(), T0, limits=MimeLimits(max_attachment_bytes=1000))
    small, big = parsed.inbound.attachments
    assert (small.name, small.content_type, small.size) == ("a.pdf", "application/pdf", 10)
    assert small.sha256 is not None
    assert parsed.blobs == (b"%PDF small",)
    assert (big.name, big.size, big.sha256) == ("big.png", 5000, None)
    assert parsed.inbound.meta["attachments_dropped"] == "1"


def _nested(depth: int, text: str) -> bytes:
    opened = "".join(
        f'Content-Type: multipart/mixed; boundary="b{n}"\r\n\r\n--b{n}\r\n' for n in range(depth)
    )
    closed = "".join(f"\r\n--b{n}--\r\n" for n in reversed(range(depth)))
    head = "From: ada@example.com\r\nSubject: deep\r\nMessage-ID: <deep@example.com>\r\n"
    return f"{head}{opened}Content-Type: text/plain\r\n\r\n{text}\r\n{closed}".encode()


@pytest.mark.parametrize(
    ("raw", "skipped", "text"),
    [
        (_nested(MAX_DEPTH, "found"), None, "found"),
        (_nested(MAX_DEPTH + 1, "too deep"), "1", ""),
    ],
    ids=["deepest-walked", "deeper"],
)
def test_parts_it_does_not_walk_are_kept_in_the_whole_message(
    raw: bytes, skipped: str | None, text: str
) -> None:
    """Once dropped without a trace: the text nested past the depth (and parts past
    max_parts) were neither read nor kept."""
    parsed = parse_email(raw, T0)
    assert parsed.inbound.text == text
    assert parsed.inbound.meta.get("parts_skipped") == skipped
    kept = [a for a in parsed.inbound.attachments if a.name == "message.eml"]
    if skipped is None:
        assert kept == []
    else:
        [whole] = kept
        assert (whole.content_type, whole.size) == ("message/rfc822", len(raw))
        assert whole.sha256 == hashlib.sha256(raw).hexdigest()
        assert parsed.blobs == (raw,)


def test_parts_past_the_limit_are_counted_and_the_message_kept_whole_within_size() -> None:
    message = EmailMessage()
    message["From"] = "ada@example.com"
    message.set_content("many files")
    for n in range(5):
        message.add_attachment(b"x%d" % n, maintype="application", subtype="x", filename=f"{n}")
    raw = message.as_bytes()
    parsed = parse_email(raw, T0, limits=MimeLimits(max_parts=4))  # the root and three parts
    assert parsed.inbound.text == "many files"
    assert [a.name for a in parsed.inbound.attachments] == ["0", "1", "message.eml"]
    assert parsed.inbound.meta["parts_skipped"] == "3"
    small = parse_email(raw, T0, limits=MimeLimits(max_parts=4, max_attachment_bytes=100))
    assert small.inbound.attachments[-1].sha256 is None  # listed, its bytes over the limit
    assert raw not in small.blobs


def test_broken_charsets_and_encoded_words_decode_with_replacement() -> None:
    assert header_text("=?utf-8?q?Caf=C3=A9?= =?bogus?q?x?=") == "Cafëx".replace("ë", "é")
    raw = b"From: a@b.example\r\nContent-Type: text/plain; charset=nonsense-42\r\n\r\ncaf\xe9\r\n"
    assert parse_email(raw, T0).inbound.text == "caf\ufffd"


@pytest.mark.parametrize(
    ("text", "new", "quoted"),
    [
        ("Thanks!\n\nOn Tue, Bob <b@x> wrote:\n> hi", "Thanks!", "On Tue, Bob <b@x> wrote:\n> hi"),
        ("Yes.\n> earlier\n> more", "Yes.", "> earlier\n> more"),
        ("I said:\n> this\nand more", "I said:\n> this\nand more", ""),
        ("> all quoted", "> all quoted", ""),
        ("Ok\nFrom: Bob\nSent: Mon\nTo: me\nold", "Ok", "From: Bob\nSent: Mon\nTo: me\nold"),
    ],
    ids=["attribution", "trailing-quote", "inline-quote", "only-quote", "outlook"],
)
def test_split_quoted(text: str, new: str, quoted: str) -> None:
    assert split_quoted(text) == (new, quoted)


def test_html_lists_and_entities() -> None:
    assert html_to_text("<ul><li>one</li><li>two &lt;3</li></ul><script>x()</script>") == (
        "- one\n- two <3"
    )


def test_body_digest_ignores_headers_and_line_endings() -> None:
    assert body_digest(b"A: 1\r\n\r\nbody\r\nline\r\n") == body_digest(b"B: 2\n\nbody\nline\n")


@given(
    st.sampled_from(
        [b"A: 1\r\n\r\n", b"A: 1\n\n", b"A: 1\r\n\n", b"A: 1\n\r\n\r\n", b"A: 1\n\n\r\n\r\n", b""]
    ),
    st.lists(st.sampled_from([b"x", b" ", b"\r", b"\n", b"\r\n", b"\t", b"\n\n"]), max_size=30),
)
def test_body_digest_is_the_digest_of_the_body_as_first_defined(
    head: bytes, pieces: list[bytes]
) -> None:
    """Stored dedupe keys hold it: a faster way to the digest must give the same one."""
    raw = head + b"".join(pieces)
    cuts = [(at, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (at := raw.find(sep)) >= 0]
    at, size = min(cuts) if cuts else (len(raw), 0)
    body = raw[at + size :]
    expected = hashlib.sha256(body.replace(b"\r\n", b"\n").rstrip()).hexdigest()
    assert body_digest(raw) == expected


@given(st.binary(max_size=4000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    inbound = parse_email(raw, T0).for_mailbox("s@h.example")
    assert inbound.dedupe_key


@given(
    st.lists(
        st.sampled_from(
            [
                b"From: a@b.example\r\n",
                b"Content-Type: multipart/mixed; boundary=x\r\n",
                b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n",
                b"Content-Type: message/rfc822\r\n",
                b"Content-Transfer-Encoding: base64\r\n",
                b"Content-Transfer-Encoding: quoted-printable\r\n",
                b"Content-Disposition: attachment; filename*=utf-8''%E2%82%AC.txt\r\n",
                b"Subject: =?utf-8?b?w6k=?= [#12]\r\n",
                b"References: <a@b> <c@d\r\n",
                b"\r\n",
                b"--x\r\n",
                b"--x--\r\n",
                b"=E9=\r\n",
                b"\xff\xfe\x00text\r\n",
                b"Action: failed\r\n",
            ]
        ),
        max_size=40,
    )
)
def test_arbitrary_mime_shapes_never_raise(lines: list[bytes]) -> None:
    parse_email(b"".join(lines), T0).for_mailbox("s@h.example")


def _tree(message: Message, *, decoded: bool) -> tuple[object, ...]:
    """All the feed parser sets: headers, default type, preamble, epilogue, defects' kinds,
    and the parts' trees or the body (as it is kept, and decoded as the hub decodes it)."""
    payload = message.get_payload()
    if isinstance(payload, list):
        body: object = [
            _tree(part, decoded=decoded) for part in payload if isinstance(part, Message)
        ]
    elif decoded:
        body = (payload, decoded_payload(message))
    else:
        body = (payload, message.get_payload(decode=True) or b"")
    shape = (message.get_default_type(), message.preamble, message.epilogue)
    defects = [type(d).__name__ for d in message.defects]
    return message.items(), shape, defects, body


def _same_as_feed_parser(raw: bytes) -> Message:
    fast, full = read_message(raw), BytesParser(policy=compat32).parsebytes(raw)
    assert _tree(fast, decoded=True) == _tree(full, decoded=False)
    return fast


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_reading_without_the_feed_parser_gives_what_it_gives(path: Path) -> None:
    _same_as_feed_parser(path.read_bytes())


@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "Subject: hi\r\n",
                    "From: a@b.example\n",
                    " folded\r\n",
                    "\t\r\n",
                    "From nobody Mon\r\n",
                    "X-Odd : spaced\r\n",
                    "no colon here\r\n",
                    "Content-Transfer-Encoding: base64\r\n",
                    "Content-Type: text/plain\r\n",
                    "Content-Transfer-Encoding: 8bit\r\n",
                    "\r\n",
                    "\n",
                    "\r",
                    "aGVsbG8=\r\n",
                ]
            ),
            st.text(max_size=20),
        ),
        max_size=12,
    )
)
def test_reading_without_the_feed_parser_matches_it_on_any_header_block(lines: list[str]) -> None:
    _same_as_feed_parser("".join(lines).encode("utf-8", "surrogateescape"))


_SHAPE_LINES = [
    "--x",
    "--x--",
    "--x  ",
    "--x--\t",
    "--xy",
    "--x-",
    "--x-- z",
    "--y",
    "--y--",
    "Content-Type: multipart/alternative; boundary=y",
    "Content-Type: multipart/digest; boundary=y",
    "Content-Type: message/rfc822",
    "Content-Type: text/html; charset=utf-8",
    "Content-Transfer-Encoding: base64",
    "Content-Disposition: attachment; filename=a.txt",
    "From nobody",
    " folded",
    "",
    "",
    "aGVsbG8=",
    "plain words",
    "caf\u00e9",
]


@given(
    st.sampled_from(["multipart/mixed; boundary=x", 'multipart/related; boundary="x"']),
    st.lists(st.sampled_from(_SHAPE_LINES), max_size=30),
    st.sampled_from(["\r\n", "\n"]),
    st.sampled_from(["", "\r\n", "\n", "\r"]),
)
def test_reading_without_the_feed_parser_matches_it_on_any_multipart(
    kind: str, lines: list[str], newline: str, tail: str
) -> None:
    head = f"From: a@b.example{newline}Content-Type: {kind}{newline}{newline}"
    text = head + newline.join(lines) + tail
    _same_as_feed_parser(text.encode("utf-8", "surrogateescape"))


_LEAF_HEADERS = st.lists(
    st.sampled_from(
        [
            "Content-Type: text/plain; charset=utf-8",
            "Content-Type: text/html",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64",
            "Content-Transfer-Encoding: quoted-printable",
            "Content-Disposition: attachment; filename=a.txt",
            "X-Folded: a\r\n b",
            "Content-Type: message/rfc822",  # once in eight: the feed parser's
        ]
    ),
    max_size=3,
)
_TEXT = st.lists(st.sampled_from(["", "hi", "aGVsbG8=", "caf\u00e9=E9", "--z", " "]), max_size=4)


def _mostly(usual: str, *unusual: str) -> st.SearchStrategy[str]:
    return st.sampled_from([usual] * 12 + list(unusual))


@st.composite
def _leaf(draw: st.DrawFn) -> str:
    blank = draw(st.integers(0, 7)) > 0  # mostly well formed, sometimes not
    lines = [*draw(_LEAF_HEADERS), *([""] if blank else []), *draw(_TEXT)]
    return "\r\n".join(lines)


def _multipart_of(parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A multipart part as text: its own boundary, parts, preamble, epilogue, and now and
    then a shape the feed parser reads with a defect or unusually."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        boundary = draw(st.sampled_from(["b1", "b2", "b3", '"b 4"']))
        kind = draw(_mostly("mixed", "alternative", "related", "digest"))
        head = [f"Content-Type: multipart/{kind}; boundary={boundary}"]
        if draw(st.integers(0, 19)) == 0:
            head.append("Content-Transfer-Encoding: base64")
        separator = "--" + boundary.strip('"')
        lines = [*head, "", *draw(_TEXT)]  # the preamble
        for part in draw(st.lists(parts, min_size=draw(st.sampled_from([0, 1, 1, 1])), max_size=3)):
            lines.append(separator + draw(_mostly("", " \t", "x")))
            lines.append(part)
        closing = draw(_mostly("--", "-- ", "", "--y"))
        lines += [separator + closing, *draw(_TEXT)]  # and the epilogue
        return "\r\n".join(lines)

    return build()


@settings(max_examples=400)  # a quarter are read by hand; the rest are the unusual shapes
@given(
    st.recursive(_leaf(), _multipart_of, max_leaves=8).filter(lambda t: "multipart" in t),
    st.sampled_from(["\r\n", "\n"]),
    st.sampled_from(["", "\r\n", "\r\n\r\n"]),
)
def test_reading_without_the_feed_parser_matches_it_on_nested_multiparts(
    tree: str, newline: str, tail: str
) -> None:
    text = f"From: a@b.example\r\nSubject: s\r\n{tree}{tail}".replace("\r\n", newline)
    _same_as_feed_parser(text.encode("utf-8", "surrogateescape"))


def _by_hand(message: Message) -> bool:
    """Whether the message was read without the feed parser (which keeps no raw bodies)."""
    leaf = next(part for part in message.walk() if not part.is_multipart())
    return isinstance(leaf, IndexedMessage) and leaf.raw_body is not None


def _multipart(parts: list[str], preamble: str = "", epilogue: str = "") -> bytes:
    body = "".join(f"--b1\r\n{part}\r\n" for part in parts)
    return (
        "From: a@b.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        f"{preamble}{body}--b1--\r\n{epilogue}"
    ).encode()


def test_ordinary_multiparts_are_read_without_the_feed_parser_as_it_reads_them() -> None:
    alternative = (
        'Content-Type: multipart/alternative; boundary="b2"\r\n\r\n'
        "--b2\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        "--b2\r\nContent-Type: text/html\r\n\r\n<p>hi</p>\r\n--b2--\r\nafter\r\n"
    )
    attachment = (
        "Content-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-Disposition: attachment; filename=a.pdf\r\n\r\naGVsbG8=\r\n"
    )
    raw = _multipart([alternative, attachment], "This is MIME.\r\n", "bye\r\n")
    message = _same_as_feed_parser(raw)
    assert _by_hand(message)
    inner, pdf = (part for part in message.get_payload() if isinstance(part, Message))
    assert [p.get_payload() for p in inner.walk() if not p.is_multipart()] == ["hi", "<p>hi</p>"]
    assert (inner.epilogue, message.preamble, message.epilogue) == (
        "after\r\n",  # its own line ending goes to the boundary line after it
        "This is MIME.",
        "bye\r\n",
    )
    assert decoded_payload(pdf) == b"hello"


@pytest.mark.parametrize(
    "raw",
    [
        _multipart(["\r\nhi"]).replace(b"--b1--", b"--b1-- junk"),  # no closing boundary
        _multipart(["\r\nhi\rthere"]),  # a lone CR ends a line for the feed parser
        _multipart(["\r\nhi"]).replace(b"--b1\r\n", b"--b1\r\n--b1\r\n"),  # an empty part
        _multipart(["Content-Type: message/rfc822\r\n\r\nFrom: c@d.example\r\n\r\nx"]),
        _multipart(["no header here\r\nhi"]),  # no blank line after the part's headers
    ],
)
def test_unusual_multiparts_are_read_by_the_feed_parser(raw: bytes) -> None:
    assert not _by_hand(_same_as_feed_parser(raw))
