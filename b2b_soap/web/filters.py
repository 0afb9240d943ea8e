"""Jinja filters: dates and times the way LA staff read them, and query-string helpers."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask, request, url_for

__all__ = ["register"]


def _when(value: datetime | None) -> str:
    return value.strftime("%d %b %Y %H:%M") if value else ""


def _day(value: date | datetime | str | None) -> str:
    """A date, or an ISO date string as incoming records keep them, like 01 Sep 2020."""
    if isinstance(value, str) and value:
        value = date.fromisoformat(value)
    return value.strftime("%d %b %Y") if value else ""


def _url_with(**changes: Any) -> str:
    """The current page's address with some query arguments changed (None removes one)."""
    args = request.args.to_dict()
    args.update({key: value for key, value in changes.items() if value is not None})
    for key in [key for key, value in changes.items() if value is None]:
        args.pop(key, None)
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def _zip_pairs(values) -> list[tuple[Any, Any]]:
    """Values as (value, label) options for a select."""
    return [(value, value) for value in values]


def register(app: Flask) -> None:
    app.jinja_env.filters.update(when=_when, day=_day, zip_pairs=_zip_pairs)
    app.jinja_env.globals.update(url_with=_url_with)
