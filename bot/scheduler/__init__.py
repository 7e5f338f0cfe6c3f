"""The push side's processes: the scheduler (timed jobs, leader-locked) and the sender (outbox consumers)."""
