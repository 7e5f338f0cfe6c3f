"""The member import against a real Redis: a messy file from several systems becomes the expected members,
merges and rejections; imported twice it changes nothing; the birthday gift's index and the phone lookup work
for the members it creates."""
from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from bot.import_command import import_members
from bot.services import build_services
from bot.sms import LogSmsSender
from loyalty_core import keys
from loyalty_core.member_import_rules import ColumnMapError, ImportRefused
from loyalty_core.members import MemberService
from loyalty_core.pii import EMAIL, NAME
from loyalty_core.redis_store.members import RedisMemberStore
from tests.fixtures_bot import CapturingSms
from tests.integration.till import snapshot

KEY = b"k" * 32
CRM_FILE = (
    "手机号,姓名,openid,birthday,gender,email,member_no,备注\r\n"
    '"+86 138-0013-8000","张, 三",,1990-05-20,男,Zhang@Example.com,C001,vip\r\n'   # row 2
    "008613800138000,张三,,,,,,\r\n"                                                # row 3: row 2 again
    "１３９００１３９０００,李四,oMini0000001,1988/2/29,F,,C002,\r\n"               # row 4: full-width digits
    "12345,王五,,,,,,\r\n"                                                          # row 5: not a mobile number
    "13700137000,赵六,,19851301,,,,\r\n"                                            # row 6: no such date
    "13600136000,钱七,,,,not-an-email,,\r\n"                                        # row 7
    "13800138000,,oMini0000001,,,,,\r\n"                                            # row 8: phone and openid of two
    ",孙八,,,,,,\r\n"                                                               # row 9: no phone, no openid
    "+86 135 0013 5000,周九,,1992-12-01,女,zhou@example.com,C003,\r\n"              # row 10
)
POS_FILE = (                                                                       # GBK, as a Chinese export
    "电话,会员姓名,邮箱\n"
    "13800138000,张三丰,zhang.pos@example.com\n"      # the CRM's member: their name and email stay
    "13900139000,李四,li@example.com\n"               # the CRM's, with no email: it is filled
    "13300133000,吴十,\n"                             # new
)


@pytest.fixture
def services(redis, clock):
    return build_services(redis, clock, KEY, LogSmsSender())


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8-sig") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


async def import_file(services, path: Path, source: str, column_map: dict, tmp_path: Path):
    report = tmp_path / f"{path.name}.report.csv"
    result = await services.member_import.run(path, source, column_map, report)
    with open(report, encoding="utf-8-sig", newline="") as f:
        rejected = [(int(row["row"]), row["reason"]) for row in csv.DictReader(f)]
    return result.summary, rejected


async def profile_of(services, phone: str) -> dict:
    member_id = await services.members.member_id_for_phone(phone)
    assert member_id is not None, phone
    return await services.redis.hgetall(keys.member_profile(member_id))


async def test_a_messy_file_from_two_systems_gives_the_expected_members(services, redis, tmp_path):
    crm = write(tmp_path, "crm.csv", CRM_FILE)
    summary, rejected = await import_file(services, crm, "crm", {"手机号": "phone", "姓名": "name"}, tmp_path)
    assert rejected == [(5, "invalid_phone"), (6, "invalid_birthday"), (7, "invalid_email"), (8, "conflict"),
                        (9, "missing_phone")]
    assert (summary.rows, summary.created, summary.merged, summary.unchanged) == (9, 3, 0, 1)

    zhang = await profile_of(services, "13800138000")
    assert zhang["status"] == "imported" and zhang["sources"] == "crm" and zhang["member_no"] == "C001"
    assert services.pii.decrypt(zhang["name_enc"], context=NAME) == "张, 三"
    assert services.pii.decrypt(zhang["email_enc"], context=EMAIL) == "zhang@example.com"
    assert zhang["gender"] == "male" and "openid" not in zhang
    li = await profile_of(services, "13900139000")
    assert li["openid"] == "oMini0000001" and li["gender"] == "female"
    assert await services.members.member_id_for_openid("oMini0000001") == li["member_id"]
    assert await redis.get(keys.MEMBER_SEQ) == "3"        # the followers' sequence: three members, no gaps

    pos = write(tmp_path, "pos.csv", POS_FILE, encoding="gbk")
    summary, rejected = await import_file(services, pos, "pos", {"电话": "phone", "会员姓名": "name", "邮箱": "email"},
                                          tmp_path)
    assert rejected == [] and (summary.created, summary.merged, summary.unchanged) == (1, 2, 0)
    zhang = await profile_of(services, "13800138000")
    assert zhang["sources"] == "crm,pos"
    assert services.pii.decrypt(zhang["name_enc"], context=NAME) == "张, 三"        # filled once, never overwritten
    assert services.pii.decrypt(zhang["email_enc"], context=EMAIL) == "zhang@example.com"
    wu = await profile_of(services, "13300133000")
    assert services.pii.decrypt(wu["name_enc"], context=NAME) == "吴十" and wu["sources"] == "pos"


async def test_imported_birthdays_are_kept_where_the_birthday_gift_finds_them(services, tmp_path):
    await import_file(services, write(tmp_path, "crm.csv", CRM_FILE), "crm", {"手机号": "phone"}, tmp_path)
    zhang = await services.members.member_id_for_phone("13800138000")
    zhou = await services.members.member_id_for_phone("13500135000")
    assert await services.birthdays.members_with_birthday_on(date(2026, 5, 20)) == [zhang]
    assert await services.birthdays.members_with_birthday_on(date(2026, 12, 1)) == [zhou]
    status = await services.birthdays.status(zhang)
    assert (status.birthday.month, status.birthday.day, status.birthday.calendar) == (5, 20, "solar")


async def test_a_follower_matched_by_phone_keeps_what_they_set_themselves(services, redis, clock, tmp_path):
    follower = (await services.members.follow("o_follower", "evt:1")).member_id
    sms = CapturingSms()
    members = MemberService(RedisMemberStore(redis, services.scripts, services.outbox), services.pii, sms, clock)
    await members.request_phone_code(follower, "13800138000")
    await members.verify_phone(follower, sms.codes["13800138000"])
    proposal = await services.birthdays.propose(follower, "1991-03-08", "solar")
    await services.birthdays.confirm(follower, proposal.sealed, "op-1")
    own_phone = await redis.hget(keys.member_profile(follower), "phone_enc")

    summary, _ = await import_file(services, write(tmp_path, "crm.csv", CRM_FILE), "crm", {"手机号": "phone"},
                                   tmp_path)
    assert summary.created == 2 and summary.merged == 1          # 张三 is the follower
    profile = await redis.hgetall(keys.member_profile(follower))
    assert profile["status"] == "subscribed" and profile["openid"] == "o_follower"
    assert profile["phone_enc"] == own_phone and profile["sources"] == "crm" and profile["member_no"] == "C001"
    assert (await services.birthdays.status(follower)).birthday.month == 3       # the chat's birthday, not the CRM's
    assert await services.birthdays.members_with_birthday_on(date(2026, 5, 20)) == []


async def test_the_same_files_imported_again_change_nothing(services, redis, tmp_path):
    crm, pos = write(tmp_path, "crm.csv", CRM_FILE), write(tmp_path, "pos.csv", POS_FILE, encoding="gbk")
    pos_map = {"电话": "phone", "会员姓名": "name", "邮箱": "email"}
    await import_file(services, crm, "crm", {"手机号": "phone", "姓名": "name"}, tmp_path)
    await import_file(services, pos, "pos", pos_map, tmp_path)
    before = await snapshot(redis)
    again, rejected = await import_file(services, crm, "crm", {"手机号": "phone", "姓名": "name"}, tmp_path)
    pos_again, _ = await import_file(services, pos, "pos", pos_map, tmp_path)
    assert await snapshot(redis) == before
    assert (again.created, again.merged, again.unchanged) == (0, 0, 4) and len(rejected) == 5
    assert (pos_again.created, pos_again.merged, pos_again.unchanged) == (0, 0, 3)


async def test_an_import_stopped_half_way_is_completed_by_running_it_again(services, redis, tmp_path):
    crm = write(tmp_path, "crm.csv", CRM_FILE)
    services.member_import.batch_rows = 2
    progress: list[int] = []

    def stop_after_the_second_batch(rows: int) -> None:     # as Ctrl-C would, between two batches
        progress.append(rows)
        if len(progress) == 2:
            raise Stopped()

    with pytest.raises(Stopped):
        await services.member_import.run(crm, "crm", {"手机号": "phone"}, None, stop_after_the_second_batch)
    assert progress == [2, 4] and await redis.get(keys.MEMBER_SEQ) == "2"
    summary = (await services.member_import.run(crm, "crm", {"手机号": "phone"})).summary
    assert (summary.created, summary.merged, summary.unchanged, summary.rejected_total) == (1, 0, 3, 5)
    assert await redis.get(keys.MEMBER_SEQ) == "3"


class Stopped(Exception):
    pass


async def test_a_header_with_no_phone_or_openid_column_is_refused_before_anything_changes(services, redis, tmp_path):
    with pytest.raises(ColumnMapError):
        await services.member_import.run(write(tmp_path, "crm.csv", "手机号,姓名\r\n13800138000,张三\r\n"), "crm", {})
    assert await redis.dbsize() == 0


async def test_the_command_prints_the_summary_and_writes_the_report(redis, redis_url, tmp_path, capsys):
    crm = write(tmp_path, "crm.csv", CRM_FILE)
    report = tmp_path / "rejected.csv"
    progress = io.StringIO()
    assert await import_members(redis_url, KEY, crm, "crm", {"手机号": "phone"}, report, out=progress) == 0
    printed = capsys.readouterr().out
    assert "created   3" in printed and "rejected  5" in printed and "invalid_phone     1" in printed
    assert f"rejected rows: {report}" in printed and "9 rows" in progress.getvalue()
    assert report.read_text(encoding="utf-8-sig").splitlines()[0] == "row,reason,column"


async def test_blank_lines_are_no_rows_and_an_unreadable_line_stops_the_import_with_its_place(services, tmp_path):
    blank = write(tmp_path, "blank.csv", "phone,name\r\n13800138000,张三\r\n\r\n,\r\n13900139000,李四\r\n")
    summary = (await services.member_import.run(blank, "mall", {})).summary
    assert (summary.rows, summary.created, summary.rejected_total) == (2, 2, 0)
    broken = write(tmp_path, "broken.csv", "phone,name\r\n13700137000,\r\n13700137001," + "长" * 200_000 + "\r\n")
    with pytest.raises(ImportRefused, match="after row 1: field larger than field limit"):
        await services.member_import.run(broken, "mall", {})
