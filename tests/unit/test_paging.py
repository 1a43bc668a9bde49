"""intranet.paging: each page is read from the nearer end of the list and
covers exactly the rows the plain ``OFFSET`` would."""
import pytest

from intranet.paging import Window, window


def _rows(page: int, total: int, size: int) -> list[int]:
    """The rows (indexes in the list's order) ``window`` reads, turned back."""
    part = window(page, total, size)
    if part is None:
        return []
    if part.reverse:
        backwards = list(reversed(range(total)))[part.offset:part.offset + part.limit]
        return list(reversed(backwards))
    return list(range(total))[part.offset:part.offset + part.limit]


@pytest.mark.parametrize("total", [0, 1, 49, 50, 51, 99, 100, 101, 250, 22_001])
def test_every_page_holds_the_rows_of_the_plain_offset(total):
    size = 50
    pages = max(1, -(-total // size))
    for page in range(1, pages + 2):
        assert _rows(page, total, size) == list(range(total))[(page - 1) * size:page * size]


def test_no_page_walks_more_than_half_the_list_and_the_last_walks_nothing():
    total, size = 22_000, 50
    offsets = [window(page, total, size).offset for page in range(1, 441)]
    assert max(offsets) <= total // 2
    assert window(440, total, size) == Window(0, 50, True)
    assert window(1, total, size) == Window(0, 50, False)


def test_a_short_last_page_is_read_backwards_from_the_end():
    assert window(3, 101, 50) == Window(0, 1, True)
    assert window(4, 101, 50) is None
    assert window(0, 101, 50) == window(1, 101, 50)
