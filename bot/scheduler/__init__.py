"""The push side's processes: the scheduler (timed jobs, leader-locked) and, beside it, the sender (the push
outbox's consumers, sender.py)."""
