"""A member import at scale: `make bench-import` (python -m bench.import_members [rows], default 1,000,000).

Generates a messy CSV of that many rows to a temporary file (GBK-free UTF-8 with a BOM and CRLF, as a CRM
exports it: phones as `+86 138-0013-8000`, `0086…`, full-width digits, spaces; about 3% of the rows repeat an
earlier member's phone, 2% carry an invalid phone, 1% an impossible birthday, 1% a bad email; names, openids,
birthdays, genders, emails, card numbers in some rows), then runs `python -m bot import members` on it against
a private redis-server (AOF off), as an operator would. Measured: rows a second, seconds, the peak RSS of the
importing process (target under 300 MB), redis-server's processor seconds and the Redis memory the import added.
Writes bench/results/import_members.json.
"""
from __future__ import annotations

import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.common import BENCH_PII_KEY, cpu_seconds, machine, private_redis, write_results
from loyalty_core.clock import MALL_TZ

LIMIT_MB = 300
SEED = 20260115
HEADER = ("手机号", "姓名", "openid", "birthday", "gender", "email", "会员卡号", "门店")
COLUMN_MAP = ("手机号=phone", "姓名=name", "会员卡号=member_no")
SURNAMES, GIVEN = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def messy_phone(rng: random.Random, phone: str) -> str:
    shape = rng.random()
    if shape < 0.15:
        return f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}"
    if shape < 0.25:
        return f"0086{phone}"
    if shape < 0.32:
        return phone.translate(FULL_WIDTH)
    if shape < 0.42:
        return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    return phone


def row_of(rng: random.Random, i: int, phones: list[str]) -> list[str]:
    roll = rng.random()
    if roll < 0.03 and phones:
        phone = rng.choice(phones)                                 # the same member again, from another export
    elif roll < 0.05:
        phone = f"1{rng.randint(0, 2)}{rng.randint(0, 10**8):08d}"  # 10… to 12…: not a mobile number
    else:
        phone = f"1{3 + i % 7}{i:09d}"[:11]
        if len(phones) < 50_000:
            phones.append(phone)
    birthday = ""
    if rng.random() < 0.5:
        birthday = f"{rng.randint(1950, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    if rng.random() < 0.01:
        birthday = "1990-13-45"
    email = f"m{i}@example.com" if rng.random() < 0.4 else ""
    if rng.random() < 0.01:
        email = "not-an-email"
    return [messy_phone(rng, phone), rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", *GIVEN)),
            f"oBench{i:012d}" if rng.random() < 0.3 else "", birthday, rng.choice(("男", "女", "", "M", "F")),
            email, f"C{i:08d}" if rng.random() < 0.6 else "", f"S{rng.randint(1, 40):02d}"]


def generate(path: Path, rows: int) -> None:
    rng, phones = random.Random(SEED), []
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow(row_of(rng, i, phones))


def used_memory(url: str) -> int:
    import redis
    client = redis.Redis.from_url(url)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def import_file(url: str, path: Path, report: Path) -> tuple[float, str]:
    """`python -m bot import members` in a process of its own; its wall seconds and its output."""
    command = [sys.executable, "-m", "bot", "import", "members", str(path), "--source", "crm", "--report", str(report),
               *(arg for pair in COLUMN_MAP for arg in ("--map", pair))]
    started = time.perf_counter()
    done = subprocess.run(command, env=os.environ | {"REDIS_URL": url, "PII_KEY": BENCH_PII_KEY},
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"the import failed: {done.stderr[-2000:]}")
    return seconds, done.stdout


def summary_of(output: str) -> dict:
    counts = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].replace(",", "").isdigit():
            counts[parts[0]] = int(parts[1].replace(",", ""))
    return counts


def run(rows: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-import-") as work:
        path, report = Path(work) / "members.csv", Path(work) / "rejected.csv"
        started = time.perf_counter()
        generate(path, rows)
        generated = round(time.perf_counter() - started, 1)
        size_mb = round(path.stat().st_size / 2**20, 1)
        with private_redis(with_pid=True) as (url, redis_pid):
            memory_before, redis_cpu = used_memory(url), cpu_seconds(redis_pid)
            seconds, output = import_file(url, path, report)
            peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            redis_cpu = cpu_seconds(redis_pid) - redis_cpu
            memory_added = used_memory(url) - memory_before
    return {"rows": rows, "file_mb": size_mb, "generate_seconds": generated, "import_seconds": round(seconds, 1),
            "rows_per_s": round(rows / seconds), "peak_rss_mb": round(peak_kb / 1024, 1),
            "redis_cpu_seconds": round(redis_cpu, 1), "redis_memory_added_mb": round(memory_added / 2**20, 1),
            "summary": summary_of(output)}


def table(report: dict) -> str:
    ok = report["peak_rss_mb"] < LIMIT_MB
    s = report["summary"]
    return "\n".join([
        f"{report['rows']:,} rows, {report['file_mb']} MB of CSV (generated in {report['generate_seconds']} s)",
        f"{'import':<12} {report['import_seconds']:>8} s {report['rows_per_s']:>8,} rows/s "
        f"{report['peak_rss_mb']:>7} MB peak RSS  under {LIMIT_MB} MB: {'yes' if ok else 'NO'}",
        f"  redis-server: {report['redis_cpu_seconds']} processor seconds, {report['redis_memory_added_mb']} MB added",
        f"  created {s.get('created', 0):,}, merged {s.get('merged', 0):,}, unchanged {s.get('unchanged', 0):,}, "
        f"rejected {s.get('rejected', 0):,}"])


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    report = run(rows) | {"machine": machine(), "when": datetime.now(MALL_TZ).isoformat(timespec="seconds"),
                          "targets": {"peak_rss_mb": LIMIT_MB}}
    print(table(report))
    write_results("import_members", report)


if __name__ == "__main__":
    main()
