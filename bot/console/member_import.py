"""/console/members/import: an admin uploads a member CSV (streamed to a temporary file, never held in memory),
names its source and column map, and the import runs in the background (loyalty_core/member_import_jobs.py); the
job's page shows its progress and, at the end, the summary with the rejected rows to download. The start and the
end of every import are in the audit log."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from aiohttp import BodyPartReader, web

from loyalty_core.console_access import Permission
from loyalty_core.member_import_rules import FIELDS, SOURCES, ColumnMapError, check_source, parse_column_map

from ..app_keys import SERVICES
from .forms import form_text
from .guard import needs, session_of
from .render import page

routes = web.RouteTableDef()
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
MAX_FIELD_BYTES = 4096
CHUNK_BYTES = 256 * 1024
_JOB_ID = re.compile(r"[0-9a-f]{16}")


@routes.get("/members/import", name="member_import")
@needs(Permission.MEMBERS_IMPORT)
async def import_form(request: web.Request) -> web.Response:
    return await render_form(request)


async def render_form(request: web.Request, *, error: str = "", status: int = 200, source: str = "crm",
                      column_map: str = "") -> web.Response:
    jobs = await request.config_dict[SERVICES].import_jobs.latest()
    return page(request, "member_import.html", status=status, error=error, sources=SOURCES, fields=FIELDS,
                source=source, column_map=column_map, jobs=jobs)


@routes.post("/members/import", name="start_member_import")
@needs(Permission.MEMBERS_IMPORT)
async def start_import(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    workspace = services.import_jobs.workspace()
    fields: dict[str, str] = {}
    try:
        file_name, fields = await receive_upload(request, workspace / "upload.csv")
        source, map_text = fields.get("source", ""), fields.get("map", "")
        column_map = parse_column_map(map_lines(map_text))
        check_source(source)
        if not file_name:
            raise ColumnMapError("choose the CSV file to import")
    except (ColumnMapError, UploadRefused) as refused:
        shutil.rmtree(workspace, ignore_errors=True)
        return await render_form(request, error=str(refused), status=422,
                                 source=fields.get("source", "crm"), column_map=fields.get("map", ""))
    job_id = await services.import_jobs.start(workspace / "upload.csv", file_name, source, column_map,
                                              by=session_of(request).email)
    raise web.HTTPSeeOther(request.app.router["member_import_job"].url_for(job_id=job_id))


class UploadRefused(ValueError):
    pass


async def receive_upload(request: web.Request, target: Path) -> tuple[str, dict[str, str]]:
    """The form's file, written to `target` a chunk at a time, and its other fields."""
    if not request.content_type.startswith("multipart/"):
        raise UploadRefused("send the form as multipart/form-data, with the file")
    if request.headers.get("X-CSRF-Token") is None:      # the guard read the (small) form already
        return await _from_read_form(request, target)
    fields: dict[str, str] = {}
    file_name = ""
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise UploadRefused("the form is not a flat multipart form")
        if part.name == "file":
            file_name = part.filename or ""
            await _save(part, target)
        elif part.name:
            fields[part.name] = (await part.read(decode=True))[:MAX_FIELD_BYTES].decode("utf-8", "replace")
    return file_name, fields


async def _save(part: BodyPartReader, target: Path) -> None:
    written = 0
    with open(target, "wb") as out:
        while chunk := await part.read_chunk(CHUNK_BYTES):
            written += len(chunk)
            if written > MAX_UPLOAD_BYTES:
                raise UploadRefused(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
            out.write(chunk)


async def _from_read_form(request: web.Request, target: Path) -> tuple[str, dict[str, str]]:
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        return "", {name: form_text(form, name) for name in ("source", "map")}
    with open(target, "wb") as out:
        shutil.copyfileobj(upload.file, out, CHUNK_BYTES)
    return upload.filename or "", {name: form_text(form, name) for name in ("source", "map")}


def map_lines(text: str) -> list[str]:
    """The column map as typed: `手机号=phone`, one a line (or separated by commas)."""
    return [pair.strip() for pair in re.split(r"[\r\n,，]+", text) if pair.strip()]


@routes.get("/members/import/{job_id}", name="member_import_job")
@needs(Permission.MEMBERS_IMPORT)
async def job_page(request: web.Request) -> web.Response:
    job = await _job(request)
    return page(request, "member_import_job.html", job=job)


@routes.get("/members/import/{job_id}/progress", name="member_import_progress")
@needs(Permission.MEMBERS_IMPORT)
async def job_progress(request: web.Request) -> web.Response:
    job = await _job(request)
    return web.json_response({"status": job.status, "rows": job.rows, "summary": job.summary, "error": job.error},
                             headers={"Cache-Control": "no-store"})


@routes.get("/members/import/{job_id}/report", name="member_import_report")
@needs(Permission.MEMBERS_IMPORT)
async def job_report(request: web.Request) -> web.Response:
    job = await _job(request)
    report = await request.config_dict[SERVICES].import_jobs.report(job.job_id)
    if report is None:
        raise web.HTTPNotFound(text="this import has no report (yet)")
    return web.Response(body=report, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="import-{job.job_id}-rejected.csv"', "Cache-Control": "no-store"})


async def _job(request: web.Request):
    job_id = request.match_info["job_id"]
    job = await request.config_dict[SERVICES].import_jobs.job(job_id) if _JOB_ID.fullmatch(job_id) else None
    if job is None:
        raise web.HTTPNotFound(text="no such import")
    return job
