"""Campaign drafts (issue 25): the call center plans its calling campaigns.

The contract gives the call center task 1 「納付案内計画の立案」 (seed 000):
its 責任者 (an operator with the team-leader flag) drafts a campaign — the
filter, calling hours, limits, period and why — and sees only how many
cases and people it would reach. A ward supervisor reviews it (the cases it
would reach), then approves it (a :class:`CallCampaign` is created from it
and built), returns it for changes or rejects it, with a comment. Only an
approved draft ever becomes a campaign.

A model of its own (not a state of ``CallCampaign``): a campaign makes its
cases visible to operators once active, so nothing drafted by the
contractor may sit in that table before a ward supervisor approved it.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base, str_enum


class DraftState(enum.StrEnum):
    draft = "draft"           # 作成中: the leader edits it
    submitted = "submitted"   # 承認待ち: waiting for a ward supervisor
    returned = "returned"     # 差戻し: back to the leader for changes (edit, submit again)
    approved = "approved"     # 承認: ``campaign_id`` was created from it (final)
    rejected = "rejected"     # 却下: final, never a campaign

    @property
    def editable(self) -> bool:
        """The leader may change and submit it (THE rule, used by views and tests)."""
        return self in (DraftState.draft, DraftState.returned)

    @property
    def reviewable(self) -> bool:
        """A supervisor may approve, return or reject it."""
        return self == DraftState.submitted


class CampaignDraft(Base):
    __tablename__ = "campaign_drafts"
    __table_args__ = (Index("ix_campaign_drafts_org_state", "organisation_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # the call-center organisation that drafts it: only its leaders see and edit it
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)           # why this campaign (free text, screened)
    # the case filter: intranet.calls.campaigns.CampaignFilter as JSON, validated on save
    criteria: Mapped[str] = mapped_column(Text, default="{}")
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    weekday_start: Mapped[dt.time] = mapped_column(Time)
    weekday_end: Mapped[dt.time] = mapped_column(Time)
    saturday_start: Mapped[dt.time | None] = mapped_column(Time)
    saturday_end: Mapped[dt.time | None] = mapped_column(Time)
    max_attempts: Mapped[int] = mapped_column(Integer)
    min_interval_minutes: Mapped[int] = mapped_column(Integer)
    daily_limit: Mapped[int] = mapped_column(Integer)
    weekly_limit: Mapped[int] = mapped_column(Integer)
    state: Mapped[DraftState] = mapped_column(str_enum(DraftState, "campaign_draft_state"),
                                              default=DraftState.draft)
    # what the filter selected when last saved or submitted (JSON counts, no case data)
    counts: Mapped[str | None] = mapped_column(Text)
    counted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    review_comment: Mapped[str | None] = mapped_column(Text)
    # the campaign created on approval (the campaign page names its draft through it)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("call_campaigns.id"), index=True)
