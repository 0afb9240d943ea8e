"""Working through a list: its filters read strictly, and the list kept across record pages and decisions.

A list page's query (filters, sort, page) travels to the pages it links to as one ``list``
argument. While it is present, every address built for the same blueprint carries it on, and
an address for the list itself without arguments becomes the list as it was: Back links and the
redirect after a decision return to the same filtered page, whose first row is the next to do.
"""
from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Blueprint, request

__all__ = ["Errors", "keep_list_state", "list_state", "whole", "date_boxes", "choice"]

Errors = list[tuple[str, str]]  # (field id, message) for the error summary

_NOT_KEPT = {"done", "resolved", "action", "problem", "list"}


def list_state() -> str:
    """The list query the current page belongs to ('' outside a list)."""
    return request.args.get("list", "")


def _state_of_list_page() -> str:
    return urlencode([(k, v) for k, v in request.args.items(multi=True) if k not in _NOT_KEPT and v])


def keep_list_state(bp: Blueprint, list_endpoint: str) -> None:
    """Carry the list's query through ``bp``'s addresses (see the module docstring)."""
    @bp.url_defaults
    def _carry(endpoint: str, values: dict[str, Any]) -> None:
        if request.endpoint == list_endpoint:
            if endpoint != list_endpoint and "list" not in values:
                state = _state_of_list_page()
                if state:
                    values["list"] = state
            return
        state = list_state()
        if not state or not request.endpoint or not request.endpoint.startswith(bp.name + "."):
            return
        if endpoint == list_endpoint:
            for key, value in parse_qsl(state):
                values.setdefault(key, value)
        else:
            values.setdefault("list", state)


def whole(source, name: str, label: str, errors: Errors, most: int = 150) -> int | None:
    """A whole number argument (None if empty); anything else is an error on the form."""
    text = source.get(name, "").strip()
    if not text:
        return None
    if text.isdigit() and int(text) <= most:
        return int(text)
    errors.append((name, f"{label} must be a whole number, like {min(11, most)}"))
    return None


def choice(source, name: str, label: str, allowed, errors: Errors) -> str | None:
    """One of ``allowed`` (None if empty); a typed value outside them is an error on the form."""
    text = source.get(name, "").strip()
    if not text:
        return None
    if text in allowed:
        return text
    errors.append((name, f"{label}: there is no {text!r} to choose"))
    return None


def date_boxes(source, name: str, label: str, errors: Errors) -> date | None:
    """A GOV.UK date input: ``name-day``, ``name-month`` and ``name-year`` boxes (None if all empty)."""
    parts = [source.get(f"{name}-{box}", "").strip() for box in ("day", "month", "year")]
    if not any(parts):
        return None
    if all(part.isdigit() for part in parts) and len(parts[2]) == 4:
        try:
            return date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            pass
    errors.append((f"{name}-day", f"{label} must be a real date, like 31 1 2026"))
    return None

