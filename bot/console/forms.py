"""Reading a console form's fields."""
from __future__ import annotations

from typing import Mapping


def form_text(form: Mapping, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
