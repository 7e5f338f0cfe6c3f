"""The care calendar: holiday greetings on solar and lunar dates, and membership anniversaries.

A holiday names its day the way birthdays are filed (birthday_calendar.py): `solar = "10-01"` or
`lunar = "08-15"` (a leap month as "L04-26"), with the birthday rules for days that a year lacks — the 30th
of a lunar month that has 29 days is kept on the 29th, so 除夕 is `lunar = "12-30"`, and a solar Feb 29 is
kept on Feb 28 in common years. A membership anniversary is the solar day the member joined, from the
first year after, on the same rule.
"""
from __future__ import annotations

from datetime import date

from pydantic import model_validator

from .birthday_calendar import labels_on
from .program_fields import Flag, Invalid, OptionalText, Text, raise_duplicates, rules


@rules
class Holiday:
    name: Text
    solar: OptionalText = ""         # MM-DD
    lunar: OptionalText = ""         # MM-DD, or LMM-DD in a leap month

    @model_validator(mode="after")
    def _one_date(self) -> "Holiday":
        given = [key for key in ("solar", "lunar") if getattr(self, key)]
        if len(given) != 1:
            raise Invalid("give the day as solar = \"MM-DD\" or lunar = \"MM-DD\", one of them", ("solar",))
        key = given[0]
        if not _month_day(getattr(self, key), lunar=key == "lunar"):
            raise Invalid("must be MM-DD" + (" (LMM-DD for a leap month)" if key == "lunar" else ""), (key,))
        return self

    @property
    def label(self) -> str:
        return f"solar:{self.solar}" if self.solar else f"lunar:{self.lunar}"


def _month_day(value: str, *, lunar: bool) -> bool:
    text = value[1:] if lunar and value.startswith("L") else value
    if len(text) != 5 or text[2] != "-" or not (text[:2].isdecimal() and text[3:].isdecimal()):
        return False
    month, day = int(text[:2]), int(text[3:])
    return 1 <= month <= 12 and 1 <= day <= (30 if lunar else (29, 31, 29, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31)[month])


@rules
class CareRules:
    """The `[care]` section: membership anniversaries on or off, and the holidays greeted."""
    anniversaries: Flag = True
    holidays: tuple[Holiday, ...] = ()

    @model_validator(mode="after")
    def _unique_names(self) -> "CareRules":
        raise_duplicates([h.name for h in self.holidays], "holidays", "holiday", id_key="name")
        return self

    def holidays_on(self, day: date) -> list[Holiday]:
        labels = set(labels_on(day))
        return [holiday for holiday in self.holidays if holiday.label in labels]


def anniversary_labels(day: date) -> tuple[str, ...]:
    """The join days (`solar:MM-DD`) whose anniversary is kept on this day."""
    return tuple(label for label in labels_on(day) if label.startswith("solar:"))


def join_label(joined: date) -> str:
    return f"solar:{joined.month:02d}-{joined.day:02d}"
