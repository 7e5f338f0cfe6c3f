"""The push side: every message the bot sends first (notices, campaigns, broadcasts, reminders, care).

- model.py: a Push, its content per channel, its recorded life, and what we know of its member (facts);
- hours.py: the calendar rules in the mall's timezone (quiet hours, today, this week, this month);
- planner.py: the pure delivery planner, `plan(push, facts, now, policy) -> Decision`;
- service.py: the push service over its store: planning exactly once, customer-service windows, the
  pending inbox, wake-ups of deferred pushes and the outcomes the sender reports.
"""
