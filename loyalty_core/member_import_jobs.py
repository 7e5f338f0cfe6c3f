"""Member imports run in the background of a web process (the console's upload): each a job whose progress and
report are kept in Redis, so that any process shows them, and whose start and end are in the audit log."""
from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Mapping, Protocol

import orjson

from .clock import Clock
from .member_import import MemberImport
from .member_import_rules import ImportRefused, check_source

log = logging.getLogger("loyalty_core.member_import_jobs")

REPORT_MAX_BYTES = 8 * 1024 * 1024      # the rejected rows kept for download (≈ 300,000 rows)
JOBS_LISTED = 20
STALLED_AFTER = timedelta(minutes=5)    # a running job with no progress for this long: its process stopped


@dataclass(frozen=True)
class ImportJob:
    job_id: str
    status: str             # running | done | failed | stopped (the web process running it went away)
    source: str
    file: str               # the uploaded file's name, as the operator's browser gave it
    by: str
    started_at: str
    finished_at: str
    rows: int
    summary: dict           # Summary.as_dict() once done
    error: str
    has_report: bool = False


class JobStore(Protocol):
    async def save(self, job_id: str, fields: Mapping[str, str], started_ms: int | None = None) -> None: ...
    async def load(self, job_id: str) -> dict | None: ...
    async def latest(self, count: int) -> list[str]: ...
    async def save_report(self, job_id: str, report: bytes) -> None: ...
    async def report(self, job_id: str) -> bytes | None: ...


class Audit(Protocol):
    async def record(self, who: str, action: str, target: str, reason: str = "", detail: str = "") -> None: ...


class ImportJobs:
    def __init__(self, importer: MemberImport, store: JobStore, audit: Audit, clock: Clock):
        self._importer = importer
        self._store = store
        self._audit = audit
        self._clock = clock
        self._running: set[asyncio.Task] = set()

    @staticmethod
    def workspace() -> Path:
        """A private directory for one upload and its report (removed when the job ends)."""
        return Path(tempfile.mkdtemp(prefix="member-import-"))

    async def start(self, upload: Path, file_name: str, source: str, column_map: Mapping[str, str], by: str) -> str:
        """Run the import of the uploaded file in the background; returns the job's id."""
        check_source(source)
        job_id = secrets.token_hex(8)
        now = self._clock.now()
        await self._store.save(job_id, {"status": "running", "source": source, "file": file_name[:120], "by": by,
                                        "started_at": now.isoformat(), "updated_at": now.isoformat(), "rows": "0"},
                               started_ms=int(now.timestamp() * 1000))
        await self._audit.record(by, "members.import", job_id, detail=f"source={source} file={file_name[:120]}")
        task = asyncio.create_task(self._run(job_id, upload, source, dict(column_map), by))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return job_id

    async def wait(self, timeout: float = 60.0) -> None:
        """Until the imports this process runs have ended (at shutdown and in tests)."""
        if self._running:
            await asyncio.wait(list(self._running), timeout=timeout)

    async def _run(self, job_id: str, upload: Path, source: str, column_map: dict, by: str) -> None:
        report = upload.with_name("rejected.csv")
        try:
            result = await self._importer.run(upload, source, column_map, report,
                                              lambda rows: self._note_progress(job_id, rows))
            await self._finish(job_id, report, result.summary.as_dict(), by)
        except ImportRefused as refused:
            await self._fail(job_id, str(refused), by)
        except Exception as error:  # noqa: BLE001 - the job shows it failed; running it again completes it
            log.warning("member import %s failed (%s)", job_id, type(error).__name__)   # (no traceback: rows' values)
            await self._fail(job_id, f"the import stopped ({type(error).__name__}); upload the file again to "
                                     "complete it", by)
        finally:
            shutil.rmtree(upload.parent, ignore_errors=True)

    async def _note_progress(self, job_id: str, rows: int) -> None:
        await self._store.save(job_id, {"rows": str(rows), "updated_at": self._clock.now().isoformat()})

    async def _finish(self, job_id: str, report: Path, summary: dict, by: str) -> None:
        with open(report, "rb") as f:
            await self._store.save_report(job_id, f.read(REPORT_MAX_BYTES))
        await self._store.save(job_id, {"status": "done", "finished_at": self._clock.now().isoformat(),
                                        "rows": str(summary["rows"]), "summary": orjson.dumps(summary).decode()})
        await self._audit.record(by, "members.import.done", job_id, detail=" ".join(
            f"{name}={summary[name]}" for name in ("rows", "created", "merged", "unchanged", "rejected_total")))

    async def _fail(self, job_id: str, error: str, by: str) -> None:
        await self._store.save(job_id, {"status": "failed", "finished_at": self._clock.now().isoformat(),
                                        "error": error})
        await self._audit.record(by, "members.import.failed", job_id, detail=error[:200])

    async def job(self, job_id: str) -> ImportJob | None:
        raw = await self._store.load(job_id)
        if raw is None:
            return None
        status, error = raw["status"], raw.get("error", "")
        if status == "running" and self._clock.now() - datetime.fromisoformat(raw["updated_at"]) > STALLED_AFTER:
            status, error = "stopped", "the web process running this import stopped: upload the file again to complete it"
        return ImportJob(job_id=job_id, status=status, source=raw["source"], file=raw["file"], by=raw["by"],
                         started_at=raw["started_at"], finished_at=raw.get("finished_at", ""),
                         rows=int(raw.get("rows", 0)), summary=orjson.loads(raw["summary"]) if raw.get("summary")
                         else {}, error=error, has_report=raw.get("has_report") == "1")

    async def latest(self) -> list[ImportJob]:
        return [job for job in [await self.job(job_id) for job_id in await self._store.latest(JOBS_LISTED)] if job]

    async def report(self, job_id: str) -> bytes | None:
        return await self._store.report(job_id)
