"""/console/members/import: an admin uploads a CSV (streamed to a temporary file), the import runs in the
background, its page shows the summary and the rejected rows to download, both ends are audit-logged; in
headless Chromium too. Other roles and forms without their CSRF token are refused and import nothing."""
from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest

from bot.app_keys import SERVICES
from loyalty_core import keys
from loyalty_core.redis_store.member_import import RedisImportJobs
from tests.browser import chromium_page, console_log_in
from tests.console_client import PASSWORD, add_user, log_in

GBK_FILE = ("电话,会员姓名,生日\r\n"
            "+86 138-0013-8000,张三,1990-05-20\r\n"
            "008613800138000,张三,\r\n"
            "１３９００１３９０００,李四,1988/2/29\r\n"
            "12345,王五,\r\n"
            "13700137000,赵六,1985-13-01\r\n").encode("gbk")
COLUMN_MAP = "电话=phone\n会员姓名=name, 生日=birthday"


@pytest.fixture
async def console(redis, start_bot):
    bot = await start_bot()
    await add_user(bot, "boss@mall.test", "admin")
    await add_user(bot, "mia@mall.test", "marketer")
    return bot, bot.app[SERVICES]


def upload_form(csrf: str | None = None, column_map: str = COLUMN_MAP, data: bytes = GBK_FILE) -> aiohttp.FormData:
    form = aiohttp.FormData()
    if csrf is not None:
        form.add_field("csrf", csrf)
    form.add_field("source", "pos")
    form.add_field("map", column_map)
    form.add_field("file", data, filename="pos-export.csv", content_type="text/csv")
    return form


async def test_an_uploaded_file_is_imported_in_the_background_with_its_report_and_audit(console, redis):
    bot, services = console
    csrf = await log_in(bot, "boss@mall.test")
    answer = await bot.post("/console/members/import", data=upload_form(), headers={"X-CSRF-Token": csrf},
                            allow_redirects=False)
    assert answer.status == 303, await answer.text()
    job_url = answer.headers["Location"]
    await services.import_jobs.wait()

    progress = await (await bot.get(f"{job_url}/progress")).json()
    assert progress["status"] == "done" and progress["rows"] == 5
    assert progress["summary"]["created"] == 2 and progress["summary"]["rejected"] == {
        "invalid_birthday": 1, "invalid_phone": 1}
    page = await (await bot.get(job_url)).text()
    assert "pos-export.csv" in page and 'id="import-report"' in page
    report = await bot.get(f"{job_url}/report")
    assert report.status == 200 and "attachment" in report.headers["Content-Disposition"]
    assert (await report.text()).lstrip("\ufeff").splitlines() == ["row,reason,column", "5,invalid_phone,phone",
                                                                   "6,invalid_birthday,birthday"]
    zhang = await services.members.member_id_for_phone("13800138000")
    assert (await redis.hgetall(keys.member_profile(zhang)))["sources"] == "pos"
    actions = [entry.action for entry in await services.console.audit_log()]
    assert actions[:2] == ["members.import.done", "members.import"]
    listing = await (await bot.get("/console/members/import")).text()
    assert "pos-export.csv" in listing


async def test_a_plain_form_post_of_a_small_file_is_imported_too(console):
    bot, services = console
    csrf = await log_in(bot, "boss@mall.test")
    answer = await bot.post("/console/members/import", data=upload_form(csrf), allow_redirects=False)
    assert answer.status == 303, await answer.text()
    await services.import_jobs.wait()
    assert await services.members.member_id_for_phone("13900139000") is not None


async def test_a_bad_column_map_or_a_missing_token_or_another_role_imports_nothing(console, redis):
    bot, services = console
    csrf = await log_in(bot, "boss@mall.test")
    refused = await bot.post("/console/members/import", data=upload_form(column_map="电话=telephone"),
                             headers={"X-CSRF-Token": csrf})
    assert refused.status == 422 and "SOURCE=FIELD" in await refused.text()
    forged = await bot.post("/console/members/import", data=upload_form(), allow_redirects=False)
    assert forged.status == 403
    bot.session.cookie_jar.clear()
    marketer_csrf = await log_in(bot, "mia@mall.test")
    assert (await bot.get("/console/members/import")).status == 403
    assert (await bot.post("/console/members/import", data=upload_form(),
                           headers={"X-CSRF-Token": marketer_csrf})).status == 403
    await services.import_jobs.wait()
    assert await redis.get(keys.MEMBER_SEQ) is None


@pytest.mark.browser
async def test_an_admin_uploads_a_file_in_the_browser_and_reads_the_summary(console, tmp_path, output_dir):
    bot, services = console
    export = tmp_path / "crm-export.csv"
    export.write_bytes(GBK_FILE)
    base = str(bot.make_url("")).rstrip("/")
    async with chromium_page(width=1280, height=900) as (page, problems):
        await console_log_in(page, base, "boss@mall.test", PASSWORD)
        await page.click("nav >> text=导入 Import")
        await page.select_option("select[name=source]", "crm")
        await page.set_input_files("input[name=file]", str(export))
        await page.fill("textarea[name=map]", COLUMN_MAP)
        await page.screenshot(path=str(output_dir / "member-import-form.png"), full_page=True)
        await page.click("#import-form button")
        await page.wait_for_selector("#import-summary", timeout=20_000)
        summary = await page.inner_text("#import-summary")
        await page.screenshot(path=str(output_dir / "member-import-done.png"), full_page=True)
        async with page.expect_download() as download:
            await page.click("#import-report")
        rejected = (await (await download.value).path()).read_text(encoding="utf-8-sig")
    assert problems == []
    assert "新会员 Created\t2" in summary and "invalid_phone\t1" in summary
    assert rejected.splitlines()[1:] == ["5,invalid_phone,phone", "6,invalid_birthday,birthday"]


async def test_a_file_whose_header_names_no_phone_fails_its_job_with_the_reason_and_imports_nothing(console, redis):
    bot, services = console
    csrf = await log_in(bot, "boss@mall.test")
    answer = await bot.post("/console/members/import", headers={"X-CSRF-Token": csrf}, allow_redirects=False,
                            data=upload_form(column_map="", data="姓名,备注\r\n张三,x\r\n".encode()))
    assert answer.status == 303
    await services.import_jobs.wait()
    progress = await (await bot.get(f"{answer.headers['Location']}/progress")).json()
    assert progress["status"] == "failed" and "no column is the phone or the openid" in progress["error"]
    assert [entry.action for entry in await services.console.audit_log()][0] == "members.import.failed"
    assert await redis.get(keys.MEMBER_SEQ) is None


async def test_a_job_whose_web_process_went_away_shows_as_stopped(console, redis, clock):
    bot, _ = console
    await log_in(bot, "boss@mall.test")
    await RedisImportJobs(redis).save("0123456789abcdef", {
        "status": "running", "source": "crm", "file": "big.csv", "by": "boss@mall.test", "rows": "4000",
        "started_at": clock.now().isoformat(), "updated_at": clock.now().isoformat()}, started_ms=1)
    url = "/console/members/import/0123456789abcdef/progress"
    assert (await (await bot.get(url)).json())["status"] == "running"
    clock.advance(timedelta(minutes=6))
    stopped = await (await bot.get(url)).json()
    assert stopped["status"] == "stopped" and "upload the file again" in stopped["error"]
