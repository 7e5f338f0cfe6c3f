"""Member import: a CSV from the CRM, the tills, the online mall or the mini-program becomes members.

The file is read a batch of rows at a time (never whole): each row is checked (member_import_rules.py), the
batch's phones (keyed hashes) and openids are looked up together, rows that name no member get numbers from
the followers' sequence, the index entries they need are claimed, and one script per row creates the member
or fills what a matched member lacks. Every step is idempotent, so an import stopped anywhere (Ctrl-C, a
crash) is completed by running it again, and a file imported twice changes nothing the second time.

Personal data is sealed before it is stored (pii.py contexts): the phone ("phone", with its lookup hash), the
name ("name"), the email ("email"); a birthday is sealed and indexed as the birthday module keeps it, so the
birthday gift works for an imported member. The report names rejected rows by number and reason, never by
their values.
"""
from __future__ import annotations

import codecs
import csv
import inspect
import io
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Awaitable, Callable, Iterator, Mapping, Protocol, Sequence

from .birthday import BirthdaySeal
from .birthday_calendar import index_label
from .clock import MALL_TZ, Clock
from .member_import_rules import (
    ImportConflict, ImportRefused, ImportRow, Rejection, Summary, check_row, check_source, member_named, read_header,
)
from .pii import EMAIL, NAME, PHONE, Pii

BATCH_ROWS = 1000
SNIFF_BYTES = 64 * 1024
MAX_ROUNDS = 3              # a row whose index claims keep losing races is rejected as a conflict after these
REPORT_HEADER = ("row", "reason", "column")


@dataclass(frozen=True)
class IndexClaim:
    kind: str               # phone | openid
    value: str              # the phone's keyed hash, or the openid
    member_id: str


@dataclass(frozen=True)
class MemberWrite:
    member_id: str
    fields: dict
    birthday_enc: str = ""
    birthday_label: str = ""


@dataclass(frozen=True)
class WriteOutcome:
    outcome: str            # created | merged | unchanged | conflict
    phone_kept: bool = False     # the member has another phone of their own: the row's was not stored
    birthday_label: str = ""     # the label of the birthday the member now has ('' = none)


class ImportStore(Protocol):
    async def members_by_phone(self, phone_hashes: Sequence[str]) -> list[str | None]: ...
    async def members_by_openid(self, openids: Sequence[str]) -> list[str | None]: ...
    async def new_member_ids(self, count: int) -> list[str]: ...
    async def claim(self, claims: Sequence[IndexClaim]) -> list[bool]: ...
    async def release(self, claims: Sequence[IndexClaim]) -> None: ...
    async def write(self, writes: Sequence[MemberWrite], source: str, now: datetime) -> list[WriteOutcome]: ...
    async def file_birthdays(self, entries: Sequence[tuple[str, str]]) -> None: ...


@dataclass
class ImportResult:
    summary: Summary
    report_path: Path | None


@dataclass
class _Planned:
    row: ImportRow
    phone_hash: str
    member_id: str
    keys: list[str] = field(default_factory=list)     # "phone:<hash>", "openid:<id>"


class MemberImport:
    def __init__(self, store: ImportStore, pii: Pii, clock: Clock, batch_rows: int = BATCH_ROWS):
        self._store = store
        self._pii = pii
        self._seal = BirthdaySeal(pii, cache_size=0)
        self._clock = clock
        self.batch_rows = batch_rows

    async def run(self, path: Path, source: str, column_map: Mapping[str, str], report_path: Path | None = None,
                  progress: Callable[[int], Awaitable[None] | None] | None = None) -> ImportResult:
        """Import the file. Raises ColumnMapError (nothing imported) when the header names no phone or openid, and
        ImportRefused at a row the CSV reader cannot read (the batches before it are imported)."""
        source = check_source(source)
        summary = Summary()
        with open_csv(path) as records, _report(report_path) as report:
            header = read_header(next(records, []), column_map)
            number = 1
            while batch := _next_batch(records, self.batch_rows, number):
                today = self._clock.now().astimezone(MALL_TZ).date()
                checked = []
                for values in batch:
                    number += 1
                    if any(value.strip() for value in values):      # (a blank line is no row)
                        checked.append(check_row(number, header.cells(values), today))
                await self._import_checked(checked, source, summary, report)
                if progress is not None and inspect.isawaitable(noted := progress(summary.rows)):
                    await noted
        return ImportResult(summary, report_path)

    async def _import_checked(self, checked: list, source: str, summary: Summary, report) -> None:
        rows = [item for item in checked if isinstance(item, ImportRow)]
        outcomes = {item.row: item for item in checked if isinstance(item, Rejection)}
        outcomes.update(await self.import_rows(rows, source))
        for number in sorted(outcomes):
            summary.rows += 1
            outcome = outcomes[number]
            if isinstance(outcome, Rejection):
                summary.reject(outcome.reason)
                report.writerow((outcome.row, outcome.reason, outcome.detail))
            else:
                summary.count(outcome)

    async def import_rows(self, rows: list[ImportRow], source: str, round_: int = 1) -> dict[int, str | Rejection]:
        """Each row's outcome by its number: created, merged, unchanged, or its Rejection."""
        outcomes: dict[int, str | Rejection] = {}
        planned, known = await self._plan(rows, outcomes)
        claims, made_by = await self._claim(planned, known)
        ready, again = [], []
        for plan in planned:
            (again if any(key not in claims for key in plan.keys) else ready).append(plan)
        await self._write(ready, source, made_by, outcomes)
        if again and round_ < MAX_ROUNDS:
            outcomes.update(await self.import_rows([plan.row for plan in again], source, round_ + 1))
        else:
            outcomes.update({plan.row.row: Rejection(plan.row.row, "conflict", "phone, openid") for plan in again})
        return outcomes

    async def _plan(self, rows: list[ImportRow], outcomes: dict) -> tuple[list[_Planned], dict[str, str]]:
        """Which member each row names: one already known by phone or openid, one an earlier row of the batch
        named, or a new one (numbered here). Also returns the index entries found: {key: member}."""
        hashes = [self._pii.lookup_hash(row.phone, context=PHONE) if row.phone else "" for row in rows]
        known = await self._known(hashes, [row.openid for row in rows])
        named: dict[str, str] = {}
        planned, new = [], 0
        for row, phone_hash in zip(rows, hashes):
            phone_key = f"phone:{phone_hash}" if phone_hash else ""
            openid_key = f"openid:{row.openid}" if row.openid else ""
            try:
                member_id = member_named(named.get(phone_key) or known.get(phone_key),
                                         named.get(openid_key) or known.get(openid_key))
            except ImportConflict:
                outcomes[row.row] = Rejection(row.row, "conflict", "phone, openid")
                continue
            if member_id is None:
                member_id, new = f"#{new}", new + 1
            row_keys = [key for key in (phone_key, openid_key) if key]
            for key in row_keys:
                named.setdefault(key, member_id)
            planned.append(_Planned(row, phone_hash, member_id, row_keys))
        if new:
            numbers = await self._store.new_member_ids(new)
            for plan in planned:
                if plan.member_id.startswith("#"):
                    plan.member_id = numbers[int(plan.member_id[1:])]
        return planned, known

    async def _known(self, hashes: list[str], openids: list[str]) -> dict[str, str]:
        phones = sorted({h for h in hashes if h})
        ids = sorted({o for o in openids if o})
        by_phone = await self._store.members_by_phone(phones)
        by_openid = await self._store.members_by_openid(ids)
        known = {f"phone:{h}": m for h, m in zip(phones, by_phone) if m}
        known.update({f"openid:{o}": m for o, m in zip(ids, by_openid) if m})
        return known

    async def _claim(self, planned: list[_Planned], known: dict[str, str]) -> tuple[dict[str, str], dict[str, int]]:
        """Claim the index entries no member held yet (every row with a key names that key's one member). Returns
        the entries that are the rows' now, {key: member}, and which row made each new claim (released again
        when its member then refuses the row). A row with a key another member took meanwhile goes round again."""
        wanted, made_by = {}, {}
        for plan in planned:
            for key in plan.keys:
                if key not in known and key not in wanted:
                    wanted[key], made_by[key] = plan.member_id, plan.row.row
        items = list(wanted.items())
        won = await self._store.claim([IndexClaim(*key.split(":", 1), member_id) for key, member_id in items])
        claims = dict(known)
        claims.update({key: member for (key, member), ok in zip(items, won) if ok})
        return claims, {key: row for key, row in made_by.items() if key in claims}

    async def _write(self, ready: list[_Planned], source: str, made_by: dict[str, int], outcomes: dict) -> None:
        if not ready:
            return
        written = await self._store.write([self._member_write(plan) for plan in ready], source, self._clock.now())
        releases, birthdays = [], []
        for plan, result in zip(ready, written):
            mine = [key for key in plan.keys if made_by.get(key) == plan.row.row]
            if result.outcome == "conflict":
                outcomes[plan.row.row] = Rejection(plan.row.row, "conflict", "openid")
                releases += [IndexClaim(*key.split(":", 1), plan.member_id) for key in mine]
                continue
            if result.phone_kept:
                releases += [IndexClaim(*key.split(":", 1), plan.member_id) for key in mine if key.startswith("phone:")]
            if plan.row.birthday is not None and result.birthday_label:
                birthdays.append((result.birthday_label, plan.member_id))
            outcomes[plan.row.row] = result.outcome
        if releases:
            await self._store.release(releases)
        if birthdays:
            await self._store.file_birthdays(birthdays)

    def _member_write(self, plan: _Planned) -> MemberWrite:
        row, seal = plan.row, self._pii.encrypt
        fields = {"openid": row.openid, "gender": row.gender, "member_no": row.member_no}
        if row.phone:
            fields |= {"phone_hash": plan.phone_hash, "phone_enc": seal(row.phone, context=PHONE)}
        if row.name:
            fields["name_enc"] = seal(row.name, context=NAME)
        if row.email:
            fields["email_enc"] = seal(row.email, context=EMAIL)
        fields = {name: value for name, value in fields.items() if value}
        if row.birthday is None:
            return MemberWrite(plan.member_id, fields)
        return MemberWrite(plan.member_id, fields, self._seal.seal(row.birthday),
                           self._seal.label(index_label(row.birthday)))


# -- the file -----------------------------------------------------------------------------------------------------
def _next_batch(records: Iterator[list[str]], size: int, rows_read: int) -> list[list[str]]:
    try:
        return list(islice(records, size))
    except csv.Error as unreadable:
        raise ImportRefused(f"the file cannot be read after row {rows_read}: {unreadable}") from None


@contextmanager
def open_csv(path: Path) -> Iterator[Iterator[list[str]]]:
    """The file's records (quoted fields, CRLF or LF), read as it goes: UTF-8 (with or without a BOM), else GBK
    (read as GB18030, its superset), as Chinese CRM exports often are."""
    with open(path, "rb") as raw:
        encoding = sniff_encoding(raw.read(SNIFF_BYTES))
        raw.seek(0)
        with io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="") as text:
            yield csv.reader(text)


def sniff_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


@contextmanager
def _report(path: Path | None):
    """The rejected rows, as CSV (UTF-8 with a BOM, so that spreadsheet programs read it right)."""
    if path is None:
        yield csv.writer(io.StringIO())      # counted in the summary only
        return
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(REPORT_HEADER)
        yield writer
