"""Satisfaction surveys: one question (1–5, and a comment if the member likes) after an event they came to
(loyalty_core/mall_events.py asks it and keeps its answers per event) and, when the program file's `[survey]`
turns it on, some days after a purchase (asked about the member's latest purchase, answers kept per store).

The answer is the member's next message that starts with a score ("5 很棒"): it answers whichever of the two
was asked last and is still open. Each answer is kept once (a purchase's by its txn_id, in the store's slot).

Purchases are filed by the consumer of the ledger's events (points_earned, which names the store) under the day
their survey is due; the `purchase-surveys` job asks those due, once per purchase (the notice's dedup key).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Protocol

from pydantic import Field

from . import errors
from .clock import Clock
from .mall_events import COMMENT_MAX_CHARS, SCORES
from .notices import Notifier
from .program_fields import Duration, Flag, Whole, rules

SURVEYS_GROUP = "surveys"


@rules
class SurveyRules:
    """The `[survey]` section."""
    after_purchase: Flag = False
    days_after: Annotated[int, Whole(1, 30)] = 3              # asked this many days after the purchase
    answer: Annotated[timedelta, Duration("days", 1, 14)] = Field(timedelta(days=3), alias="answer_days")


@dataclass(frozen=True)
class Asked:
    txn_id: str
    store_id: str
    asked_at: datetime


@dataclass(frozen=True)
class Answered:
    about: str                   # "event" | "purchase"
    title: str                   # the event's title, or the store
    score: int
    commented: bool = False


@dataclass(frozen=True)
class StoreResults:
    store_id: str
    count: int
    total: int

    def to_dict(self) -> dict:
        return {"store_id": self.store_id, "count": self.count,
                "average": round(self.total / self.count, 2) if self.count else None}


@dataclass(frozen=True)
class StoreAnswer:
    txn_id: str
    member_id: str
    score: int
    comment: str
    at: str


class SurveyStore(Protocol):
    async def file(self, member_id: str, txn_id: str, store_id: str, due: datetime) -> None:
        """The member's latest purchase, to ask about when due (a later purchase replaces an earlier one)."""
    async def due(self, now: datetime, limit: int) -> list[tuple[str, str, str]]:
        """(member_id, txn_id, store_id) of the surveys due by now."""
    async def asked(self, member_id: str, asked: Asked) -> None: ...
    async def unfile(self, member_id: str, txn_id: str) -> None: ...
    async def open_question(self, member_id: str) -> Asked | None: ...
    async def record(self, member_id: str, asked: Asked, score: int, comment: str, at: datetime) -> None:
        """Once per purchase; the member's question is closed."""
    async def results(self, store_id: str) -> StoreResults: ...
    async def answers(self, store_id: str, limit: int) -> list[StoreAnswer]:
        """At most `limit` of the store's answers, in no particular order."""


class EventFeedback(Protocol):
    async def awaiting_feedback(self, member_id: str): ...           # -> MallEvent | None
    async def give_feedback(self, member_id: str, score: int, comment: str): ...


class SurveyService:
    def __init__(self, store: SurveyStore, events: EventFeedback, notices: Notifier, rules: SurveyRules,
                 clock: Clock):
        self._store = store
        self._events = events
        self._notices = notices
        self.rules = rules
        self._clock = clock

    async def on_points_earned(self, event: dict) -> None:
        """points_earned from the outbox stream: the purchase is filed for its survey, if surveys are on."""
        data = event["data"]
        if not self.rules.after_purchase or not data.get("store_id"):
            return
        bought = datetime.fromisoformat(data.get("occurred_at") or event["occurred_at"])
        await self._store.file(event["member_id"], data["txn_id"], data["store_id"],
                               bought + timedelta(days=self.rules.days_after))

    async def ask_due(self, batch: int = 500) -> int:
        """Ask the surveys due now; each purchase once, however often this runs."""
        now, asked = self._clock.now(), 0
        for member_id, txn_id, store_id in await self._store.due(now, batch):
            await self._notices.notify(member_id, "purchase_survey", {"store": store_id}, txn_id,
                                       topic="survey:purchase")
            await self._store.asked(member_id, Asked(txn_id, store_id, now))
            await self._store.unfile(member_id, txn_id)
            asked += 1
        return asked

    async def answer(self, member_id: str, score: int, comment: str) -> Answered:
        """The member's score for whatever was asked last and is still open; NoFeedbackDue when nothing is."""
        if score not in SCORES:
            raise errors.InvalidRequest("score must be 1 to 5")
        now = self._clock.now()
        question = await self._store.open_question(member_id)
        if question is not None and now >= question.asked_at + self.rules.answer:
            question = None
        event = await self._events.awaiting_feedback(member_id)
        if event is not None and (question is None or event.ends_at >= question.asked_at):
            event, feedback = await self._events.give_feedback(member_id, score, comment)
            return Answered("event", event.title, feedback.score, bool(feedback.comment))
        if question is None:
            raise errors.NoFeedbackDue()
        comment = " ".join(comment.split())[:COMMENT_MAX_CHARS]
        await self._store.record(member_id, question, score, comment, now)
        return Answered("purchase", question.store_id, score, bool(comment))

    async def results(self, store_id: str) -> StoreResults:
        return await self._store.results(store_id)

    async def answers(self, store_id: str, limit: int = 200) -> list[StoreAnswer]:
        """The store's answers, newest first (at most `limit`)."""
        return sorted(await self._store.answers(store_id, limit), key=lambda answer: answer.at, reverse=True)
