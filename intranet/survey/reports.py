"""Survey reports: append-only versions of what an investigator found."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..clock import from_jst, jst_wall
from ..models import SurveyPhoto, SurveyReport, SurveyTargetState
from ..params import parse_datetime
from . import photos as photo_store

RESIDENCE = ("lives", "not_living", "unknown")
NAMEPLATE = ("present", "absent")
TENURE = ("rented", "owned", "unknown")
MEMO_MAX = 2000


@dataclass
class ReportForm:
    visited_at: dt.datetime | None = None  # UTC
    residence: str = ""
    nameplate: str = ""
    nameplate_name: str = ""
    tenure: str = ""
    landlord_name: str = ""
    landlord_contact: str = ""
    slip_handed_to: str = ""
    memo: str = ""
    photos: list = field(default_factory=list)  # CleanPhoto
    errors: list[str] = field(default_factory=list)


#: The report's free text, screened for forbidden categories on save
#: (:mod:`intranet.screening`): form field and its label.
SCREENED = (("nameplate_name", "screening.label.nameplate_name"),
            ("landlord_name", "screening.label.landlord_name"),
            ("landlord_contact", "screening.label.landlord_contact"),
            ("slip_handed_to", "screening.label.slip_handed_to"),
            ("memo", "screening.label.memo"))


def screened_fields(form: ReportForm) -> list[tuple[str, str, str]]:
    return [(name, label, getattr(form, name)) for name, label in SCREENED]


def _text(post, name, limit, form):
    value = post.get(name, "")
    value = value.strip() if isinstance(value, str) else ""
    if len(value) > limit:
        form.errors.append("form.too_long")
    return value[:limit]


def parse(post, now: dt.datetime) -> ReportForm:
    form = ReportForm()
    for name, allowed in (("residence", RESIDENCE), ("nameplate", NAMEPLATE), ("tenure", TENURE)):
        value = post.get(name, "")
        if value not in allowed:
            form.errors.append(f"survey.error.{name}")
        setattr(form, name, value if value in allowed else "")
    try:
        local = parse_datetime(post.get("visited_at", ""))
        form.visited_at = from_jst(local)
        if form.visited_at > now or form.visited_at < now - dt.timedelta(days=120):
            form.errors.append("survey.error.visited_at")
    except (TypeError, ValueError):
        form.errors.append("survey.error.visited_at")
    form.nameplate_name = _text(post, "nameplate_name", 100, form)
    form.landlord_name = _text(post, "landlord_name", 200, form)
    form.landlord_contact = _text(post, "landlord_contact", 200, form)
    form.slip_handed_to = _text(post, "slip_handed_to", 100, form)
    form.memo = _text(post, "memo", MEMO_MAX, form)
    uploads = [u for u in post.getall("photos") if hasattr(u, "file") and getattr(u, "filename", "")]
    if len(uploads) > photo_store.MAX_PHOTOS:
        form.errors.append("survey.error.photo_count")
        uploads = []
    for upload in uploads:
        raw = upload.file.read(photo_store.MAX_BYTES + 1)
        try:
            form.photos.append(photo_store.clean(raw))
        except photo_store.PhotoError as exc:
            if str(exc) not in form.errors:
                form.errors.append(str(exc))
    return form


def submit(dbsession, target, form: ReportForm, user, now: dt.datetime, photo_dir: str) -> SurveyReport:
    """A new version of the target's report (earlier ones stay)."""
    version = (dbsession.scalar(select(func.max(SurveyReport.version))
                                .where(SurveyReport.target_id == target.id)) or 0) + 1
    report = SurveyReport(
        target_id=target.id, version=version, submitted_by=user.id, submitted_at=now,
        visited_at=form.visited_at, residence=form.residence, nameplate=form.nameplate,
        nameplate_name=form.nameplate_name, tenure=form.tenure, landlord_name=form.landlord_name,
        landlord_contact=form.landlord_contact, slip_handed_to=form.slip_handed_to, memo=form.memo)
    dbsession.add(report)
    dbsession.flush()
    for photo in form.photos:
        photo_store.store(photo_dir, photo)
        dbsession.add(SurveyPhoto(report_id=report.id, sha256=photo.sha256,
                                  content_type=photo.content_type, size=len(photo.data),
                                  width=photo.width, height=photo.height))
    target.state = SurveyTargetState.reported
    return report


def history(dbsession, target) -> list[SurveyReport]:
    return list(dbsession.scalars(select(SurveyReport).where(SurveyReport.target_id == target.id)
                                  .order_by(SurveyReport.version.desc())))


def latest_by_target(dbsession, target_ids) -> dict[int, SurveyReport]:
    """The newest version of each target's report."""
    latest = {}
    for report in dbsession.scalars(select(SurveyReport).where(
            SurveyReport.target_id.in_(list(target_ids))).order_by(SurveyReport.version)):
        latest[report.target_id] = report
    return latest


def progress(targets, latest) -> dict[str, int]:
    counts = {"targets": len(targets), "reported": 0, "lives": 0, "not_living": 0, "unknown": 0,
              "pending": 0}
    for t in targets:
        report = latest.get(t.id)
        if report is None:
            counts["pending"] += 1
        else:
            counts["reported"] += 1
            counts[report.residence] += 1
    return counts


class _Withheld:
    """A report whose flagged free text waits for review: those fields read
    as the screening marker (:data:`intranet.screening.flags.MARKER`)."""

    def __init__(self, report, pending):
        self._report, self._pending = report, pending

    def __getattr__(self, name):
        from ..screening.flags import shown
        return shown(getattr(self._report, name), self._report.id, name, self._pending)


EXPORT_HEADERS = ["案件番号", "氏名", "郵便番号", "住所", "方書", "地域", "調査員", "訪問日時",
                  "居住", "表札", "表札の名前", "賃貸・持家", "家主・管理会社", "連絡先", "連絡票", "メモ",
                  "写真枚数", "版"]
LABELS = {"lives": "居住している", "not_living": "居住していない", "unknown": "不明",
          "present": "あり", "absent": "なし", "rented": "賃貸", "owned": "持家"}


def export_rows(targets, latest, pending=None) -> list[list]:
    """The batch's results; a free-text field whose screening flag waits for
    a collector's review (``pending``: report id → fields) is left out."""
    rows = [EXPORT_HEADERS]
    pending = pending or {}
    for t in targets:
        tp = t.case.taxpayer
        r = latest.get(t.id)
        if r is not None and r.id in pending:
            r = _Withheld(r, pending)
        visited = jst_wall(r.visited_at).strftime("%Y-%m-%d %H:%M") if r else ""
        rows.append([t.case.case_no, tp.name, tp.postal_code, tp.address, tp.address_extra or "",
                     t.area, t.investigator.display_name if t.investigator else "", visited,
                     LABELS.get(r.residence, "") if r else "", LABELS.get(r.nameplate, "") if r else "",
                     r.nameplate_name if r else "", LABELS.get(r.tenure, "不明") if r else "",
                     r.landlord_name if r else "", r.landlord_contact if r else "",
                     r.slip_handed_to if r else "", r.memo if r else "",
                     len(r.photos) if r else 0, r.version if r else ""])
    return rows
