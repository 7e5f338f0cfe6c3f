"""How WeChat shows a template or subscribe message: a service-notice card.

Since 2023-05-04 (WeChat's notices on template-message rules) the card shows the template's title and then
each keyword field on one line: the first line (`first`) and the remark (`remark`) are dropped, custom colours
and emoji are removed, a field shows at most 20 characters (the rest is elided) and no line breaks. A message
with a link (a `url`, a mini-program or a page) ends in 「详情」.
"""
from __future__ import annotations

import re
from typing import Mapping

FIELD_CHARS = 20
ELISION = "…"
DROPPED_FIELDS = frozenset({"first", "remark"})
_EMOJI = re.compile(
    "[\U0001F000-\U0001FAFF"      # pictographs, emoticons, transport, flags, skin tones
    "\u2300-\u23FF\u2600-\u27BF\u2B00-\u2BFF"   # technical symbols, dingbats, stars and arrows drawn as emoji
    "\uFE00-\uFE0F\u200D\u20E3"   # variation selectors, the zero-width joiner, the keycap
    "\U000E0020-\U000E007F]")     # tag characters of subdivision flags
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def service_notice(title: str, data: Mapping, labels: Mapping[str, str], *, linked: bool) -> dict:
    """The card as shown: {"title", "fields": [{"label", "value"}], "details": bool}.

    `labels` names the template's keywords (e.g. "number2" -> "变动积分"); a field without one shows its key."""
    order = list(labels)        # the template's own order of keywords, as WeChat shows them, whatever the call's
    keys = sorted((key for key in data if key not in DROPPED_FIELDS),
                  key=lambda key: order.index(key) if key in order else len(order))
    fields = [{"label": labels.get(key, key), "value": shown_value(data[key])} for key in keys]
    return {"title": title, "fields": fields, "details": linked}


def shown_value(field) -> str:
    """A keyword's value as the card shows it: no emoji, on one line, at most 20 characters."""
    raw = field.get("value") if isinstance(field, Mapping) else field
    text = _LINE_BREAKS.sub(" ", _EMOJI.sub("", "" if raw is None else str(raw))).strip()
    return text if len(text) <= FIELD_CHARS else text[:FIELD_CHARS] + ELISION
