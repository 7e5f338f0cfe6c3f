"""The one typed argument every handler receives."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Mapping, Sequence

from loyalty_core.errors import NotAMember
from loyalty_core.members import FollowResult

from .inbound import Inbound
from .replies import Text
from .router import Command, ConfirmHandler
from .templating import Templates

if TYPE_CHECKING:
    from .services import Services


@dataclass
class Ctx:
    message: Inbound
    services: "Services"
    templates: Templates
    now: datetime
    args: str = ""                      # the text after the keyword, or the scene value
    member_id: str | None = None
    follow: FollowResult | None = None  # set by the subscribe handler for scene handlers that follow it
    joined: FollowResult | None = None  # set when this message made its sender a member without a follow
    commands: Sequence[Command] = ()    # what the help text lists
    confirmations: Mapping[str, ConfirmHandler] = field(default_factory=dict)   # what 确认 does, per choice kind

    @property
    def openid(self) -> str:
        return self.message.openid

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def member(self) -> str:
        """The member id; raises NotAMember where the handler needs one and there is none."""
        if self.member_id is None:
            raise NotAMember()
        return self.member_id

    def render(self, template: str, **values) -> Text:
        return Text(self.templates.render(template, **values))
