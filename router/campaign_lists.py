"""Callback lists, the pure part: header mapping, numbers, time zones, preferred times.

A list is CSV with a header row; the columns the hub reads are `phone` (required), `name`,
`email`, `external_ref`, `notes` and `preferred_time`, found under their own names or common
aliases (case and spacing ignored) or under the names an explicit mapping gives. Rows are
normalised in batches by `normalise_rows`, a module-level function so a process pool can
run it on another core: numbers become E.164 (a number without a country code takes the
default region), must be *valid* for phonenumbers (not only possible), and get their time
zones from phonenumbers' timezone data; a row that fails says why, with its line.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import phonenumbers
from phonenumbers import PhoneNumberType
from phonenumbers import timezone as phone_zones
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from core.campaigns import CampaignPolicy, NewContact
from core.errors import PayloadError
from core.identity import email_identity
from router.calling_law import LEGAL, CallingLaw
from router.campaigns import CallingHours, slot_key, window_ranges
from router.phone_kinds import national_type, number_type

COLUMNS = ("phone", "name", "email", "external_ref", "notes", "preferred_time")
ALIASES: Mapping[str, str] = {
    **dict.fromkeys(("phone", "phonenumber", "number", "telephone", "tel", "mobile"), "phone"),
    **dict.fromkeys(("name", "fullname", "customer", "contact", "customername"), "name"),
    **dict.fromkeys(("email", "mail", "emailaddress"), "email"),
    **dict.fromkeys(("externalref", "ref", "reference", "externalid", "id"), "external_ref"),
    **dict.fromkeys(("notes", "note", "comment", "comments"), "notes"),
    **dict.fromkeys(("preferredtime", "besttime", "calltime", "preferred"), "preferred_time"),
}
LIMITS = {"phone": 64, "name": 200, "email": 254, "external_ref": 200, "notes": 2000}
_SHORTEST_LIMIT = min(LIMITS.values())
PARTS_OF_DAY = {"morning": "08:00-12:00", "afternoon": "12:00-17:00", "evening": "17:00-21:00"}
_FOLD = re.compile(r"[\s_\-.]+")
_PLAIN = re.compile(r"^\+?[0-9(][0-9 ().\-]*$")
_PUNCTUATION = str.maketrans("", "", " ().-")
_NANP_DIGITS = 10
_NANP_FIRST = frozenset("23456789")  # area codes never start with 0 or 1
_HOURS = re.compile(r"^\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}$")

Row = tuple[int, list[str]]
"""A list row as read: its first line number and its fields."""


@dataclass(frozen=True, slots=True)
class Invalid:
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Where each known column sits in a row (None: absent), and the header's other names."""

    positions: tuple[int | None, ...]
    ignored: tuple[str, ...] = ()


def _fold(name: str) -> str:
    return _FOLD.sub("", name.strip().lower())


def map_header(header: Sequence[str], explicit: Mapping[str, str] | None = None) -> ColumnMap:
    """The columns of a header row; ValueError when phone is missing or a column repeats.

    `explicit` maps our column names to the header's (`{"phone": "Mobile"}`); the other
    columns are recognised by name or alias."""
    folded = [_fold(h) for h in header]
    wanted = {column: _fold(name) for column, name in (explicit or {}).items()}
    unknown = sorted(set(wanted) - set(COLUMNS))
    if unknown:
        raise ValueError(f"unknown column(s) to map: {', '.join(unknown)}")
    absent = [f"{(explicit or {})[c]!r} (for {c})" for c, n in wanted.items() if n not in folded]
    if absent:
        listed = ", ".join(repr(h) for h in header) or "none"
        raise ValueError(f"no column {' or '.join(absent)} in the header; its columns: {listed}")
    positions: dict[str, int] = {}
    for index, name in enumerate(folded):
        column = next((c for c, n in wanted.items() if n == name), None)
        if column is None and ALIASES.get(name) not in wanted:  # mapped columns take no alias
            column = ALIASES.get(name)
        if column is None:
            continue
        if column in positions:
            raise ValueError(f"two columns are {column}: {header[positions[column]]!r} and "
                             f"{header[index]!r}")  # fmt: skip
        positions[column] = index
    if "phone" not in positions:
        raise ValueError(f"no phone column in the header ({', '.join(header) or 'empty'})")
    ignored = tuple(h for i, h in enumerate(header) if i not in positions.values() and h.strip())
    return ColumnMap(tuple(positions.get(c) for c in COLUMNS), ignored)


def sniff_delimiter(header_line: str) -> str:
    """`;` when the header has more semicolons than commas (European spreadsheets), else `,`."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def zones_of(e164: str, kind: int, country_code: int) -> tuple[str, ...]:
    """phonenumbers' `time_zones_for_number` of a valid number, from its E.164 form and type
    (not worked out again): the longest prefix of the number its timezone data knows."""
    if not phonenumbers.is_number_type_geographical(kind, country_code):
        return tuple(phone_zones.time_zones_for_number(phonenumbers.parse(e164)))  # rare
    digits = e164[1:]
    for length in range(min(TIMEZONE_LONGEST_PREFIX, len(digits)), 0, -1):
        if (zones := TIMEZONE_DATA.get(digits[:length])) is not None:
            return tuple(zones)
    return (phone_zones.UNKNOWN_TIMEZONE,)


def list_phone(raw: str, region: str) -> tuple[str, tuple[str, ...]]:
    """E.164 and time zones of a list's number; ValueError with the reason."""
    plain = _plain(raw)
    national = _nanp(plain, region)
    if national is not None:  # most of a list: no PhoneNumber made
        country_code, kind, e164 = 1, national_type(1, national), f"+1{national}"
    else:
        try:
            number = phonenumbers.parse(plain, region)
        except phonenumbers.NumberParseException as exc:
            raise ValueError(f"not a phone number: {raw!r}") from exc
        country_code, kind = number.country_code or 0, number_type(number)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if kind == PhoneNumberType.UNKNOWN:  # exactly when is_valid_number is false
        raise ValueError(f"not a valid phone number: {raw!r}")
    return e164, zones_of(e164, kind, country_code)


def _plain(raw: str) -> str:
    """A number written with digits and `( ) - .` or spaces only, as digits (and its `+`).

    phonenumbers reads only the digits of such a number (punctuation is dropped when it
    normalises), but finding them costs it a dozen regular expressions; handing it the
    digits gives the same number ~20% faster. Anything else (letters, extensions, `/`) goes
    to phonenumbers as written."""
    text = raw.strip()
    if not _PLAIN.match(text):
        return raw
    digits = text.removeprefix("+").translate(_PUNCTUATION)
    return f"+{digits}" if text.startswith("+") else digits


def _nanp(plain: str, region: str) -> str | None:
    """The national number phonenumbers.parse finds in a North American number written as
    its 10 digits (in a NANP region) or as 1 and its 10 digits, without parsing: a list of
    a million such numbers spends most of its time there. None for anything else."""
    digits = plain[1:] if plain.startswith("+") else plain
    if len(digits) == _NANP_DIGITS + 1 and digits[0] == "1" and digits[1] in _NANP_FIRST:
        national = digits[1:]
    elif len(digits) == _NANP_DIGITS and digits[0] in _NANP_FIRST and plain[0] != "+":
        if not _in_nanp(region):
            return None
        national = digits
    else:
        return None
    if not (national.isascii() and national.isdigit()):
        return None
    if plain[0] != "+" and not _in_nanp(region):
        return None
    return national


@functools.cache
def _in_nanp(region: str) -> bool:
    return bool(phonenumbers.country_code_for_region(region) == 1)


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


@functools.lru_cache(maxsize=1024)  # a list repeats a few preferred times many times over
def preferred_hours(text: str) -> tuple[str, datetime | None]:
    """A preferred time: hours of the day (`14:00-17:00`, `morning`) or a first moment (an ISO
    date-time with its offset). Returns (hours or "", first moment or None); ValueError."""
    compact = text.strip().lower()
    if not compact:
        return "", None
    compact = PARTS_OF_DAY.get(compact, compact)
    if _HOURS.match(compact):
        start, end = window_ranges(compact)[0]
        return f"{_clock(start)}-{_clock(end)}", None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"preferred_time {text!r} is not hours (14:00-17:00, morning, afternoon, evening) "
            "nor a date-time with its offset (2026-12-01T15:00-05:00)"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"preferred_time {text!r} needs its offset (e.g. -05:00 or Z)")
    return "", moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Normaliser:
    """Turns list rows into contacts; everything it needs travels with it to a worker."""

    columns: ColumnMap
    region: str
    policy: CampaignPolicy
    now: datetime
    law: CallingLaw = LEGAL

    def rows(self, rows: Iterable[Row]) -> list[NewContact | Invalid]:
        positions = self.columns.positions
        slots: dict[tuple[tuple[str, ...], str], str | None] = {}
        return [self.row(line, _values(fields, positions), slots) for line, fields in rows]

    def row(
        self, line: int, values: list[str], slots: dict[tuple[tuple[str, ...], str], str | None]
    ) -> NewContact | Invalid:
        """One row; `slots` remembers each zone set's slot (None: never callable), since a
        list holds few distinct zone sets and preferred hours."""
        try:
            return self._contact(line, values, slots)
        except ValueError as exc:
            return Invalid(line, str(exc))

    def _contact(
        self, line: int, values: list[str], slots: dict[tuple[tuple[str, ...], str], str | None]
    ) -> NewContact:
        phone, name, email, ref, notes, preferred = values
        if "\ufffd" in "".join(values):
            raise ValueError("not UTF-8 text")
        if max(map(len, values)) > _SHORTEST_LIMIT:
            _check_lengths(values)
        if not phone:
            raise ValueError("no phone number")
        e164, zones = list_phone(phone, self.region)
        if email:
            email = _email(email)
        window, first = preferred_hours(preferred)
        key = (zones, window)
        slot = slots[key] if key in slots else slots.setdefault(key, self._slot(zones, window))
        if slot is None:
            raise ValueError(_never_callable(zones, window, self.policy, self.law))
        next_at = self.now if first is None else max(first, self.now)
        return NewContact(
            e164, slot, next_at, name, email, ref, notes, preferred,
            self.policy.priority.rank, line,
        )  # fmt: skip

    def _slot(self, zones: tuple[str, ...], window: str) -> str | None:
        slot = slot_key(zones, window)
        hours = _hours(self.policy, self.law)
        if not hours.calendars(slot) or hours.next_callable(slot, self.now) is None:
            return None
        return slot


def _values(fields: Sequence[str], positions: Sequence[int | None]) -> list[str]:
    count = len(fields)
    return [fields[p].strip() if p is not None and p < count else "" for p in positions]


def _check_lengths(values: Sequence[str]) -> None:
    for column, value in zip(COLUMNS, values, strict=False):
        if len(value) > LIMITS.get(column, 200):
            raise ValueError(f"{column} longer than {LIMITS.get(column, 200)} characters")


def _email(raw: str) -> str:
    try:
        return email_identity(raw).value
    except PayloadError as exc:
        raise ValueError(exc.message) from exc


def _never_callable(
    zones: Sequence[str], window: str, policy: CampaignPolicy, law: CallingLaw
) -> str:
    known = [z for z in zones if z != "Etc/Unknown"]
    if not known and not policy.timezone:
        return "time zone unknown and the campaign names none"
    where = ", ".join(known or [policy.timezone or ""])
    hours = f"{policy.hours} and {window}" if window else policy.hours
    legal = "" if law.unrestricted else " and the legal calling hours"
    return f"never callable: no time within {hours}{legal} in all of its time zones ({where})"


@functools.lru_cache(maxsize=16)
def _hours(policy: CampaignPolicy, law: CallingLaw) -> CallingHours:
    return CallingHours(policy, law)


def normalise_rows(normaliser: Normaliser, rows: list[Row]) -> list[NewContact | Invalid]:
    """A batch of rows, for a process pool (a module-level function pickles by name)."""
    return normaliser.rows(rows)
