"""The push side's processes: the sender (outbox consumers, sender.py) and, later, the scheduler's timed jobs."""
