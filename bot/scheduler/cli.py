"""`python -m bot scheduler [list | run JOB [--date YYYY-MM-DD]]`: run the scheduler, list its jobs with their next
and last runs, or run one job once for a day (a second run of the same job and day does nothing new)."""
from __future__ import annotations

import argparse
import asyncio
from datetime import date

from loyalty_core.clock import SystemClock
from loyalty_core.program import load_program
from loyalty_core.redis_store.connection import connect
from loyalty_core.schedule import next_run

from ..campaign_shares import ProcessShares, ShareWorker
from ..services import build_services
from ..settings import Settings
from ..sms import LogSmsSender
from .jobs import JOBS
from .process import Scheduler, runner_for
from .runner import JobRunner


def add_scheduler_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demo", action="store_true", help="with the demo's settings (its REDIS_URL still needed)")
    actions = parser.add_subparsers(dest="action")
    actions.add_parser("list", help="each job, its next run time, its last run and outcome")
    run = actions.add_parser("run", help="run one job once for a day (default today) and exit")
    run.add_argument("job", choices=[name for name, _, _ in JOBS])
    run.add_argument("--date", type=date.fromisoformat, help="YYYY-MM-DD (mall time), default today")


async def scheduler_command(settings: Settings, args: argparse.Namespace, stop: asyncio.Event) -> int:
    redis = connect(settings.redis_url)
    try:
        program = load_program(settings.program_file)
        services = build_services(redis, SystemClock(), settings.pii_key_bytes, LogSmsSender(), program=program,
                                  public_base_url=settings.public_base_url, campaign_shares=campaign_shares(settings))
        runner = runner_for(services, settings.scheduler_lease)
        if args.action == "list":
            print(await job_list(runner))
            return 0
        if args.action == "run":
            outcome = await runner.run_day(args.job, args.date or services.clock.now().date())
            print(outcome.line())
            return 1 if outcome.status == "failed" else 0
        await Scheduler(runner).run(stop)
        return 0
    finally:
        await redis.aclose()


def campaign_shares(settings: Settings) -> ProcessShares | None:
    """CAMPAIGN_PROCESSES above 1: a campaign's send split between that many processes."""
    if settings.campaign_processes <= 1:
        return None
    worker = ShareWorker(settings.redis_url, settings.pii_key_bytes, settings.program_file, settings.push_partitions,
                         settings.public_base_url)
    return ProcessShares(worker, settings.campaign_processes)


async def job_list(runner: JobRunner) -> str:
    now = runner.services.clock.now()
    lease = await runner.schedule.leader()
    lines = [f"leader: {lease.holder or 'none'}", f"{'job':<20} {'next run':<17} last run"]
    for name, last in (await runner.last_runs()).items():
        job = runner.jobs[name]
        done = f"{last.day.isoformat()} {last.status}: {last.summary}" if last else "never"
        lines.append(f"{name:<20} {next_run(job.at, now):%Y-%m-%d %H:%M} {done}")
    return "\n".join(lines)
