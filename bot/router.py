"""One router: text keywords, menu keys, events, QR scenes and confirmation kinds, each claimed exactly once.

Feature modules each build a `Router` and the app includes them in an explicit order
(bot/handlers/__init__.py). A second claim of a keyword, menu key, event, scene or confirmation kind raises
when the routers are built.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Callable

from .replies import Reply

if TYPE_CHECKING:
    from loyalty_core.pending import PendingChoice

    from .context import Ctx

Handler = Callable[["Ctx"], Awaitable[Reply]]
# What 确认 does for a pending choice of one kind (see loyalty_core/pending.py); idempotent by its choice_id.
ConfirmHandler = Callable[["Ctx", "PendingChoice"], Awaitable[Reply]]
_SPACES = re.compile(r"\s+")


class DuplicateClaim(ValueError):
    pass


def normalise_text(text: str) -> str:
    """Full-width -> half-width, case folded, spaces collapsed and trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


@dataclass(frozen=True)
class Command:
    """A line of the help text: what to type, and what it does. Featured ones are also in the welcome."""
    example: str
    summary: str
    featured: bool = False


@dataclass(frozen=True)
class Match:
    handler: Handler
    args: str = ""


class Router:
    def __init__(self, name: str = "main"):
        self.name = name
        self.keywords: dict[str, Handler] = {}
        self.menus: dict[str, Handler] = {}
        self.events: dict[str, Handler] = {}
        self.scenes: dict[str, Handler] = {}
        self.confirmations: dict[str, ConfirmHandler] = {}
        self.fallback_handler: Handler | None = None
        self.join_handler: Handler | None = None
        self.commands: list[Command] = []
        self._by_length: list[str] = []

    # -- claiming -------------------------------------------------------------------------------
    def text(self, *keywords: str, help: str | None = None, example: str | None = None, featured: bool = False):
        """Claim keywords (the first is the Chinese one shown in help, the rest are aliases)."""
        if help:
            self.commands.append(Command(example or keywords[0], help, featured))
        return self._claimer(self.keywords, [normalise_text(k) for k in keywords], "keyword")

    def menu(self, *keys: str):
        return self._claimer(self.menus, list(keys), "menu key")

    def event(self, *names: str):
        return self._claimer(self.events, [n.lower() for n in names], "event")

    def scene(self, prefix: str):
        """Handles subscribe/SCAN events whose QR scene is `prefix:<value>`, after the event's own handler."""
        return self._claimer(self.scenes, [prefix], "scene prefix")

    def confirm(self, kind: str):
        """Claim what 确认 does for pending choices of this kind (a feature's offer to confirm)."""
        return self._claimer(self.confirmations, [kind], "confirmation kind")

    def fallback(self, handler: Handler) -> Handler:
        if self.fallback_handler is not None:
            raise DuplicateClaim(f"fallback claimed twice in router {self.name!r}")
        self.fallback_handler = handler
        return handler

    def joined(self, handler: Handler) -> Handler:
        """Greets a sender whose message made them a member without a follow (they followed before the
        program existed); its reply comes after the message's own."""
        if self.join_handler is not None:
            raise DuplicateClaim(f"joined claimed twice in router {self.name!r}")
        self.join_handler = handler
        return handler

    def _claimer(self, table: dict, names: list[str], kind: str):
        def register(handler):
            for name in names:
                self._claim(table, name, handler, kind)
            return handler
        return register

    def _claim(self, table: dict, name: str, handler, kind: str) -> None:
        if not name:
            raise ValueError(f"empty {kind}")
        if name in table:
            raise DuplicateClaim(f"{kind} {name!r} claimed twice: by {_qualname(table[name])} "
                                 f"and {_qualname(handler)}")
        table[name] = handler
        if table is self.keywords:
            self._by_length = sorted(self.keywords, key=len, reverse=True)

    def include(self, other: "Router") -> "Router":
        for mine, theirs, kind in ((self.keywords, other.keywords, "keyword"), (self.menus, other.menus, "menu key"),
                                   (self.events, other.events, "event"), (self.scenes, other.scenes, "scene prefix"),
                                   (self.confirmations, other.confirmations, "confirmation kind")):
            for name, handler in theirs.items():
                self._claim(mine, name, handler, kind)
        if other.fallback_handler is not None:
            self.fallback(other.fallback_handler)
        if other.join_handler is not None:
            self.joined(other.join_handler)
        self.commands.extend(other.commands)
        return self

    # -- resolving ------------------------------------------------------------------------------
    def match_text(self, text: str) -> Match | None:
        """Longest keyword at the start of the text; the rest (original case) is the argument."""
        spaced = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()
        folded = spaced.casefold()
        original = spaced if len(spaced) == len(folded) else folded
        head = folded.partition(" ")[0]
        if head in self.keywords:
            return Match(self.keywords[head], original[len(head):].strip())
        for keyword in self._by_length:  # "绑定13800138000", "明细2": keyword glued to its argument
            if folded.startswith(keyword) and not _splits_a_word(keyword, folded):
                return Match(self.keywords[keyword], original[len(keyword):].strip())
        return None

    def match_event(self, event: str, event_key: str) -> Match | None:
        if event == "click" and event_key in self.menus:
            return Match(self.menus[event_key], "")
        handler = self.events.get(event)
        return Match(handler, event_key) if handler else None

    def match_scene(self, scene: str) -> Match | None:
        prefix, _, value = scene.partition(":")
        handler = self.scenes.get(prefix)
        return Match(handler, value) if handler and value else None


def _splits_a_word(keyword: str, text: str) -> bool:
    """'points' must not match 'pointsy': an ASCII keyword needs a non-letter after it."""
    nxt = text[len(keyword):len(keyword) + 1]
    return keyword[-1].isascii() and keyword[-1].isalpha() and nxt.isascii() and nxt.isalpha()


def _qualname(handler) -> str:
    return f"{handler.__module__}.{handler.__qualname__}"
