"""Beads' pour-time step conditions: ``{{var}}`` (truthy), ``!{{var}}``, ``{{var}} == value``,
``{{var}} != value``. A step whose condition is false is left out when the formula is poured."""

from __future__ import annotations

import re

_TRUTHY = re.compile(r"^\{\{(\w+)\}\}$")
_FALSY = re.compile(r"^!\{\{(\w+)\}\}$")
_COMPARE = re.compile(r"^\{\{(\w+)\}\}\s*(==|!=)\s*(.+)$")


def condition_problem(condition: str) -> str | None:
    text = condition.strip()
    if not text or _TRUTHY.match(text) or _FALSY.match(text) or _COMPARE.match(text):
        return None
    return (f"condition {condition!r} is not one of the forms Gas Town evaluates: "
            "{{var}}, !{{var}}, {{var}} == value, {{var}} != value")


def truthy(value: str) -> bool:
    return value.strip().lower() not in ("", "false", "0", "no")


def holds(condition: str, values: dict[str, str]) -> bool:
    text = condition.strip()
    if not text:
        return True
    if m := _TRUTHY.match(text):
        return truthy(values.get(m.group(1), ""))
    if m := _FALSY.match(text):
        return not truthy(values.get(m.group(1), ""))
    if m := _COMPARE.match(text):
        expected = m.group(3).strip()
        if len(expected) >= 2 and expected[0] == expected[-1] and expected[0] in "'\"":
            expected = expected[1:-1]
        actual = values.get(m.group(1), "")
        return actual == expected if m.group(2) == "==" else actual != expected
    raise ValueError(condition_problem(condition))
