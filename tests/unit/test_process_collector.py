"""Every long-running process tunes Python's cyclic collector before its loop starts (bot/process.py)."""
import subprocess
import sys

PROBE = """
import gc
from bot.process import COLLECT_AFTER, run

seen = {}

async def body(stop):
    seen["threshold"] = gc.get_threshold()
    seen["frozen"] = gc.get_freeze_count()

run(body)
assert seen["threshold"] == COLLECT_AFTER, seen
assert seen["frozen"] > 1000, seen          # the modules imported before the loop are out of the collector's sight
print("tuned", seen["threshold"][0])
"""


def test_a_long_running_process_runs_with_the_collector_tuned():
    # In a process of its own: freezing the test process's objects would change every later test's collector.
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "tuned 50000"
