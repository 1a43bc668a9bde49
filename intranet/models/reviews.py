"""Monthly access-log reviews (ログの定期分析) and their sign-off."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base


class LogReview(Base):
    """An auditor's or supervisor's sign-off of one month's log anomalies.

    One per month and final: ``counts`` keeps the figures the reviewer saw
    (JSON per organisation code), so a later archive of old entries does not
    change what was signed."""

    __tablename__ = "log_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, unique=True)  # the first day of the month
    reviewed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    finding: Mapped[str] = mapped_column(String(2000))
    counts: Mapped[str] = mapped_column(Text)

    reviewer = relationship("User", lazy="joined")
