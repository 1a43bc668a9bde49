"""Where data-link files come from: a directory, a zip or uploaded files.

Each file is read to at most one byte over the reader's limit, so a file that
is too big (a 200 MB export, a zip bomb) is reported by the reader as too big
without ever being held whole in memory.
"""
from __future__ import annotations

import os
import zipfile

from . import reader


def bounded(fileobj) -> bytes:
    return fileobj.read(reader.MAX_FILE_BYTES + 1)


def from_zip(fileobj_or_path) -> dict[str, bytes]:
    """The CSV members of a zip by their base names; raises zipfile.BadZipFile."""
    files = {}
    with zipfile.ZipFile(fileobj_or_path) as archive:
        for info in archive.infolist():
            if info.is_dir() or not info.filename.lower().endswith(".csv"):
                continue
            with archive.open(info) as member:
                files[os.path.basename(info.filename)] = bounded(member)
    return files


def from_path(path: str) -> dict[str, bytes]:
    """A zip file or a directory of CSV files; raises OSError, zipfile.BadZipFile."""
    if os.path.isfile(path):
        return from_zip(path)
    files = {}
    for name in sorted(os.listdir(path)):
        if name.lower().endswith(".csv"):
            with open(os.path.join(path, name), "rb") as fileobj:
                files[name] = bounded(fileobj)
    return files
