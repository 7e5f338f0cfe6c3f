"""The rules of a member import: which columns count, what a valid row is, and which member a row names.

Pure: no storage, no I/O. The import service (member_import.py) reads the file and asks these rules.

- Columns: `phone`, `name`, `openid`, `birthday`, `gender`, `email`, `member_no`; a column map renames a file's
  own headers (`手机号=phone`); headers are matched after trimming and lower-casing; other columns are ignored.
- A row needs a mainland mobile number (normalise_phone); a row without one is kept only when it names an
  openid (a mini-program user who never gave a number). An unparseable birthday or a malformed email rejects
  the row; a gender other than the known spellings is left out, not a reason to reject.
- Birthdays are solar dates (`1990-05-20`, `1990/5/20`, `19900520`, `1990年5月20日`, a time after it ignored).
- Which member: by phone and by openid; when both name members and they differ, the row is a conflict.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable, Mapping, Sequence

from . import errors
from .birthday_calendar import SOLAR, Birthday, parse_birthday
from .phone import normalise_phone

FIELDS = ("phone", "name", "openid", "birthday", "gender", "email", "member_no")
SOURCES = ("crm", "pos", "mall", "miniprogram")
MAX_NAME = 64
MAX_MEMBER_NO = 64
REJECTION_REASONS = ("missing_phone", "invalid_phone", "invalid_birthday", "invalid_email", "invalid_openid",
                     "invalid_member_no", "conflict")

_EMAIL = re.compile(r"[^@\s,;<>]{1,64}@[^@\s,;<>]+\.[^@\s,;<>.]{2,}")
_OPENID = re.compile(r"[A-Za-z0-9_-]{6,64}")
_MEMBER_NO = re.compile(r"[A-Za-z0-9_.-]{1,%d}" % MAX_MEMBER_NO)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_TIME_TAIL = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_GENDERS = {"男": "male", "m": "male", "male": "male", "1": "male", "先生": "male",
            "女": "female", "f": "female", "female": "female", "2": "female", "女士": "female"}


class ImportRefused(ValueError):
    """The file cannot be imported as given (nothing, or nothing more, is imported); the text says why."""


class ColumnMapError(ImportRefused):
    """The column map is not `SOURCE=FIELD` with a known field, or no column names a member."""


@dataclass(frozen=True)
class ImportRow:
    """A valid row: its fields normalised (phone 11 digits, birthday parsed, gender male|female|'')."""
    row: int                 # the row's number in the file (the header is row 1)
    phone: str = ""
    openid: str = ""
    name: str = ""
    email: str = ""
    gender: str = ""
    member_no: str = ""
    birthday: Birthday | None = None


@dataclass(frozen=True)
class Rejection:
    row: int
    reason: str              # one of REJECTION_REASONS
    detail: str = ""         # which column, never the value (the report may travel; values are personal data)


@dataclass(frozen=True)
class Header:
    """Which column of the file holds which field."""
    positions: Mapping[str, int]

    def cells(self, values: Sequence[str]) -> dict[str, str]:
        return {name: values[i] if i < len(values) else "" for name, i in self.positions.items()}


@dataclass
class Summary:
    rows: int = 0
    created: int = 0
    merged: int = 0
    unchanged: int = 0
    rejected: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def as_dict(self) -> dict:
        return {"rows": self.rows, "created": self.created, "merged": self.merged, "unchanged": self.unchanged,
                "rejected": dict(sorted(self.rejected.items())), "rejected_total": self.rejected_total}


# -- columns -------------------------------------------------------------------------------------------------
def parse_column_map(pairs: Iterable[str]) -> dict[str, str]:
    """['手机号=phone', '姓名=name'] -> {'手机号': 'phone', '姓名': 'name'}."""
    mapping = {}
    for pair in pairs:
        source, sep, target = pair.partition("=")
        source, target = _header_name(source), target.strip().lower()
        if not sep or not source or target not in FIELDS:
            raise ColumnMapError(f"a column map is SOURCE=FIELD with FIELD one of {', '.join(FIELDS)}: {pair!r}")
        mapping[source] = target
    return mapping


def check_source(source: str) -> str:
    if source not in SOURCES:
        raise ColumnMapError(f"the source is one of {', '.join(SOURCES)}")
    return source


def read_header(names: Sequence[str], column_map: Mapping[str, str]) -> Header:
    """The fields' positions; the first column of a field wins. Raises ColumnMapError when no column is the
    phone or the openid (nothing could name a member)."""
    positions: dict[str, int] = {}
    for i, raw in enumerate(names):
        name = _header_name(raw)
        target = column_map.get(name, name if name in FIELDS else "")
        if target and target not in positions:
            positions[target] = i
    if "phone" not in positions and "openid" not in positions:
        raise ColumnMapError("no column is the phone or the openid: map the one that is, e.g. 手机号=phone")
    return Header(positions)


def _header_name(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw).strip().lstrip("\ufeff").lower()


# -- rows ----------------------------------------------------------------------------------------------------
def check_row(row: int, cells: Mapping[str, str], today: date) -> ImportRow | Rejection:
    values = {name: unicodedata.normalize("NFKC", value).strip() for name, value in cells.items()}
    openid = values.get("openid", "")
    if openid and not _OPENID.fullmatch(openid):
        return Rejection(row, "invalid_openid", "openid")
    raw_phone = values.get("phone", "")
    phone = ""
    if raw_phone:
        try:
            phone = normalise_phone(raw_phone)
        except errors.InvalidPhone:
            return Rejection(row, "invalid_phone", "phone")
    elif not openid:
        return Rejection(row, "missing_phone", "phone")
    birthday = None
    if values.get("birthday"):
        birthday = parse_import_birthday(values["birthday"], today)
        if birthday is None:
            return Rejection(row, "invalid_birthday", "birthday")
    email = values.get("email", "").lower()
    if email and not _EMAIL.fullmatch(email):
        return Rejection(row, "invalid_email", "email")
    member_no = values.get("member_no", "")
    if member_no and not _MEMBER_NO.fullmatch(member_no):
        return Rejection(row, "invalid_member_no", "member_no")
    return ImportRow(row=row, phone=phone, openid=openid, name=" ".join(values.get("name", "").split())[:MAX_NAME],
                     email=email, gender=_GENDERS.get(values.get("gender", "").lower(), ""), member_no=member_no,
                     birthday=birthday)


def parse_import_birthday(text: str, today: date) -> Birthday | None:
    text = _TIME_TAIL.sub("", text.strip())
    compact = _COMPACT_DATE.fullmatch(text)
    if compact:
        text = "-".join(compact.groups())
    try:
        return parse_birthday(text, SOLAR, today)
    except errors.InvalidBirthday:
        return None


# -- which member a row names ----------------------------------------------------------------------------------
def member_named(by_phone: str | None, by_openid: str | None) -> str | None:
    """The member the row's phone and openid name (None: a new member). Raises ImportConflict when they name
    two different members."""
    if by_phone and by_openid and by_phone != by_openid:
        raise ImportConflict()
    return by_phone or by_openid


class ImportConflict(Exception):
    """The row's phone and openid belong to two different members."""

