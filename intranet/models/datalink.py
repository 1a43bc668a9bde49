"""Records of data-link imports and exports (who, when, which files, counts)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base


class DataImport(Base):
    __tablename__ = "data_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the command line
    os_user: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    files: Mapped[str] = mapped_column(Text)   # JSON: {name: {sha256, rows}}
    counts: Mapped[str] = mapped_column(Text)  # JSON: {entity: {added, changed, unchanged}}
    closed: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)

    def file_rows(self) -> list[tuple[str, int, str]]:
        """(file name, rows, SHA-256) of each file, for the history table."""
        import json

        files = json.loads(self.files or "{}")
        return [(name, int(info.get("rows", 0)), str(info.get("sha256", "")))
                for name, info in sorted(files.items())]

    def count_rows(self) -> list[tuple[str, int, int, int]]:
        """(entity, added, changed, unchanged), for the history table."""
        import json

        counts = json.loads(self.counts or "{}")
        return [(name, int(c.get("added", 0)), int(c.get("changed", 0)), int(c.get("unchanged", 0)))
                for name, c in counts.items()]

    user = relationship("User")


class DataExport(Base):
    """Files handed back to the delinquency system: what happened in here
    between ``since`` and ``until``."""

    __tablename__ = "data_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    os_user: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    since: Mapped[dt.datetime | None] = mapped_column(DateTime)
    until: Mapped[dt.datetime] = mapped_column(DateTime)
    counts: Mapped[str] = mapped_column(Text)   # JSON: {file: rows}
    sha256: Mapped[str] = mapped_column(String(64))  # of the zip
