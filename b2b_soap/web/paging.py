"""Server-side paging: which page was asked for, and the page shown with its links."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from flask import request

__all__ = ["PAGE_SIZE", "Page", "requested_page"]

PAGE_SIZE = 50
_MAX_PAGE = 100_000


def requested_page() -> int:
    """The 1-based page number in the query string; anything odd is page 1."""
    number = request.args.get("page", 1, type=int) or 1
    return min(max(number, 1), _MAX_PAGE)


@dataclass
class Page:
    number: int
    size: int
    total: int
    items: Sequence[Any] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: first, last and a few around the current one; None is a gap."""
        wanted = {1, self.pages, *range(self.number - around, self.number + around + 1)}
        shown, last = [], 0
        for n in sorted(n for n in wanted if 1 <= n <= self.pages):
            if n > last + 1:
                shown.append(None)
            shown.append(n)
            last = n
        return shown
