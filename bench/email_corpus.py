"""A realistic email corpus for the SMTP benchmark, generated deterministically at run time.

The mix of issue #20: a quarter each of plain text, text + HTML (multipart/alternative), a
message with an attachment (a ~4 KB PDF-like file, base64), and replies that quote the
earlier conversation; about 5.4 KB on average. Every message but the replies comes from a
new sender (a new customer, a new ticket, an acknowledgement when the relay acknowledges);
a reply answers an earlier message of the same run by its Message-ID, so it threads onto
that ticket, as a customer's answer does.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

SUPPORT = "support@hub.example"
KINDS = ("plain", "html", "attachment", "reply")
_WORDS = (  # noqa: SIM905  # a paragraph of words reads better than a list of 44
    "order kettle delivery refund invoice account password login tracking carrier parcel "
    "replacement warranty broken screen charger subscription renewal payment card bank "
    "address label weekend tomorrow please thanks again help urgent since morning week "
    "still not arrived working anymore support team customer service number reference"
).split()


@dataclass(frozen=True, slots=True)
class Mail:
    kind: str
    sender: str
    message_id: str
    raw: bytes


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 16))]
    return " ".join(words).capitalize() + "."


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    return [" ".join(_sentence(rng) for _ in range(rng.randint(3, 5))) for _ in range(count)]


def _wrap(text: str, width: int = 76) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\r\n".join([*lines, line])


def _plain_body(rng: random.Random, count: int) -> str:
    return "\r\n\r\n".join(_wrap(p) for p in _paragraphs(rng, count)) + "\r\n\r\nThanks,\r\nAda\r\n"


def _html(paragraphs: list[str]) -> str:
    cells = "".join(
        f'<p style="margin:0 0 12px 0;font-family:Arial">\r\n{_wrap(p)}</p>\r\n' for p in paragraphs
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>p{color:#222}</style></head>'
        f'\r\n<body><div dir="ltr"><table width="100%"><tr><td>{cells}</td></tr></table>'
        "<div>Thanks,<br>Ada</div></div></body></html>"
    )


def _head(mail_from: str, subject: str, message_id: str, extra: str = "") -> str:
    return (
        f"From: Customer <{mail_from}>\r\nTo: Support <{SUPPORT}>\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nDate: Mon, 23 Nov 2026 15:00:00 +0000\r\n{extra}"
        "MIME-Version: 1.0\r\n"
    )


def _attachment(rng: random.Random) -> str:
    import base64

    data = b"%PDF-1.4\n" + rng.randbytes(4200)
    encoded = base64.encodebytes(data).decode().replace("\n", "\r\n")
    return (
        'Content-Type: application/pdf; name="receipt.pdf"\r\nContent-Transfer-Encoding: base64'
        '\r\nContent-Disposition: attachment; filename="receipt.pdf"\r\n\r\n' + encoded
    )


def _compose(kind: str, rng: random.Random, sender: str, message_id: str, earlier: Mail | None
             ) -> bytes:  # fmt: skip
    subject = f"{rng.choice(_WORDS).capitalize()} {rng.choice(_WORDS)} {rng.choice(_WORDS)}"
    if kind == "plain":
        text = _head(sender, subject, message_id) + "Content-Type: text/plain; charset=utf-8"
        return (text + "\r\n\r\n" + _plain_body(rng, 9)).encode()
    boundary = f"=_b{rng.getrandbits(48):x}"
    if kind == "html":
        paragraphs = _paragraphs(rng, 7)
        plain = "\r\n\r\n".join(_wrap(p) for p in paragraphs)
        html = _html(paragraphs)
        parts = [f"Content-Type: text/plain; charset=utf-8\r\n\r\n{plain}\r\n",
                 f"Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"]  # fmt: skip
        content = f'multipart/alternative; boundary="{boundary}"'
    elif kind == "attachment":
        plain = "Content-Type: text/plain; charset=utf-8\r\n\r\n" + _plain_body(rng, 3)
        parts = [plain, _attachment(rng)]
        content = f'multipart/mixed; boundary="{boundary}"'
    else:
        return _reply(rng, sender, message_id, earlier)
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return (_head(sender, subject, message_id) + f"Content-Type: {content}\r\n\r\n{body}").encode()


def _reply(rng: random.Random, sender: str, message_id: str, earlier: Mail | None) -> bytes:
    refers = ""
    if earlier is not None:
        refers = f"In-Reply-To: {earlier.message_id}\r\nReferences: {earlier.message_id}\r\n"
    quoted = "\r\n".join("> " + line for line in _plain_body(rng, 9).split("\r\n"))
    text = (
        _plain_body(rng, 3) + "\r\nOn Mon, 23 Nov 2026 at 15:00, Support <"
        f"{SUPPORT}> wrote:\r\n{quoted}\r\n"
    )
    head = _head(sender, "Re: your request", message_id, refers)
    return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text).encode()


def corpus(run: str, count: int, seed: int = 20) -> Iterator[Mail]:
    """`count` messages in the mix, the same for the same seed; `run` keeps ids unique."""
    rng = random.Random(seed)
    earlier: list[Mail] = []
    for number in range(count):
        kind = KINDS[number % len(KINDS)]
        message_id = f"<bench.{run}.{number}@mail.example>"
        first = earlier[rng.randrange(len(earlier))] if kind == "reply" and earlier else None
        sender = first.sender if first else f"customer.{run}.{number}@mail.example"
        mail = Mail(kind, sender, message_id, _compose(kind, rng, sender, message_id, first))
        if kind != "reply":
            earlier.append(mail)
        yield mail


if __name__ == "__main__":
    mails = list(corpus("sample", 400))
    for kind in KINDS:
        sizes = [len(m.raw) for m in mails if m.kind == kind]
        print(f"{kind:11} {sum(sizes) / len(sizes) / 1024:5.1f} KB")
    print(f"average     {sum(len(m.raw) for m in mails) / len(mails) / 1024:5.1f} KB")
