"""`python -m bot import members` as an operator runs it: the summary at the end, the report beside the file, the
same file again unchanged; without REDIS_URL, PII_KEY or a known column it says why and imports nothing."""
from __future__ import annotations

import base64
import subprocess
import sys

import pytest

from tests.e2e.processes import ROOT, base_env

pytestmark = pytest.mark.e2e
PII_KEY = base64.b64encode(b"e2e-import-pii-key-32-bytes-long").decode()
EXPORT = ("\ufeff手机号,姓名,备注\r\n"
          "+86 138-0013-8000,张三,VIP\r\n"
          "１３９００１３９０００,李四,\r\n"
          "12345,王五,\r\n")


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "import", "members", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_the_command_imports_a_file_reports_its_rejections_and_changes_nothing_the_second_time(redis, redis_url,
                                                                                                tmp_path):
    export = tmp_path / "crm.csv"
    export.write_text(EXPORT, encoding="utf-8")
    env = base_env(REDIS_URL=redis_url, PII_KEY=PII_KEY)
    first = run(str(export), "--source", "crm", "--map", "手机号=phone", "--map", "姓名=name", env=env)
    assert first.returncode == 0, first.stderr
    assert "created   2" in first.stdout and "rejected  1" in first.stdout and "3 rows" in first.stderr
    report = tmp_path / "crm.csv.report.csv"
    assert report.read_text(encoding="utf-8-sig").splitlines() == ["row,reason,column", "4,invalid_phone,phone"]
    again = run(str(export), "--map", "手机号=phone", env=env)
    assert again.returncode == 0 and "created   0" in again.stdout and "unchanged 2" in again.stdout


async def test_the_command_says_what_is_missing_and_imports_nothing(redis, redis_url, tmp_path):
    export = tmp_path / "crm.csv"
    export.write_text(EXPORT, encoding="utf-8")
    no_redis = run(str(export), env=base_env(PII_KEY=PII_KEY))
    assert no_redis.returncode != 0 and "REDIS_URL is required" in no_redis.stderr
    no_key = run(str(export), env=base_env(REDIS_URL=redis_url))
    assert no_key.returncode != 0 and "PII_KEY is required" in no_key.stderr
    no_phone = run(str(export), env=base_env(REDIS_URL=redis_url, PII_KEY=PII_KEY))
    assert no_phone.returncode == 2 and "no column is the phone or the openid" in no_phone.stderr
    bad_map = run(str(export), "--map", "手机号=telephone", env=base_env(REDIS_URL=redis_url, PII_KEY=PII_KEY))
    assert bad_map.returncode != 0 and "SOURCE=FIELD" in bad_map.stderr
    assert await redis.dbsize() == 0
