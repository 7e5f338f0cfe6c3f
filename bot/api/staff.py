"""POST /api/v1/admin/members/{member_id}/birthday: staff set or change a member's birthday.

Body: {"calendar": "solar" | "lunar", "date": "1990-05-20" | "1990-闰04-26", "reason": "…", "staff_id": "…",
"request_id": "…"}. Once per request_id (the same body again gets the first answer; another body, 409).
Audited in the member's slot with the staff id and the reason; a `birthday_changed` event follows.
The answer and the logs carry no date.
"""
from __future__ import annotations

import re

from aiohttp import web

from loyalty_core import errors
from loyalty_core.birthday_calendar import LUNAR, SOLAR
from loyalty_core.members import MemberRef

from ..app_keys import SERVICES
from . import fields
from .auth import MEMBER_SERVICE, reached_by
from .errors import json_answer

routes = web.RouteTableDef()
_ISO_DAY = re.compile(r"[0-9]{4}-闰?[0-9]{2}-[0-9]{2}")


@routes.post("/admin/members/{member_id}/birthday")
@reached_by(MEMBER_SERVICE)
async def change_birthday(request: web.Request) -> web.Response:
    services = request.config_dict[SERVICES]
    data = fields.json_object(request)
    member_id = await services.resolver.resolve(MemberRef("member_id", request.match_info["member_id"]),
                                                ("member_id",))
    calendar = fields.text(data, "calendar")
    if calendar not in (SOLAR, LUNAR):
        raise errors.InvalidRequest("calendar must be solar or lunar")
    day = fields.text(data, "date")
    if not _ISO_DAY.fullmatch(day):     # the chat's looser spellings (1990/5/20, 1990年5月20日) are not the API's
        raise errors.InvalidBirthday("date must be written 1990-05-20 (a lunar one 2020-闰04-26)", reason="format")
    change = await services.birthdays.change(
        member_id, day, calendar, staff_id=fields.text(data, "staff_id"),
        reason=fields.text(data, "reason"), request_id=fields.text(data, "request_id"))
    return json_answer({"member_id": change.member_id, "action": change.action, "changes": change.changes,
                        "replayed": change.replayed})
