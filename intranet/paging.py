"""Numbered pages read from the nearer end of a list (issue 21).

A page of a list sorted on a unique key is read with ``OFFSET``, which
walks (and drops) every row before the page: the last page of 22,000 cases
walked 21,950 index entries. Knowing the total (the list shows it), a page in
the second half is read in the reverse order instead, from the list's end,
and turned back: no page walks more than half the list, and the last page
walks none. docs/performance.md, "Case list".
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """How to read one page: ``limit`` rows after ``offset`` in the list's
    order, or (``reverse``) in the opposite order, to be turned back."""

    offset: int
    limit: int
    reverse: bool


def window(page: int, total: int, size: int, from_end: bool = True) -> Window | None:
    """The :class:`Window` of 1-based ``page`` of ``total`` rows, ``size`` a
    page; None past the last page (nothing to read). ``from_end=False`` when
    ``total`` is not the list's end (a capped count: the list goes on past it)."""
    start = (max(1, page) - 1) * size
    end = min(start + size, total)
    if end <= start:
        return None
    if from_end and start > total - end:
        return Window(total - end, end - start, True)
    return Window(start, end - start, False)
