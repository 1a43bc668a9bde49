"""Small helpers for reading submitted forms safely."""
from urllib.parse import urlsplit

from ..params import text, whole_number


def field(request, name: str, max_length: int) -> tuple[str, bool]:
    """The stripped value of POST field ``name`` and whether it is usable: text
    (not an upload), at most ``max_length`` long, without control characters."""
    value = text(request.POST.get(name, ""), max_length)
    return ("", False) if value is None else (value, True)


def safe_next(request, target: str | None) -> str:
    """``target`` if it is a path on this site, else the home page (no open redirects)."""
    home = request.resource_path(request.root)
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return home
    return target


def posted_int(request, name: str) -> int | None:
    """A non-negative whole number from the form, or None."""
    return whole_number(request.POST.get(name, ""), 12)


def posted_row(request, model, name: str):
    """The ``model`` row whose id the form names in ``name``, or None."""
    row_id = posted_int(request, name)
    return request.dbsession.get(model, row_id) if row_id is not None else None
