"""The contractors' paperwork in the demo (issue 25): the call center's
training plan for the fiscal year, whose course the demo operators
completed, and one incident report (事故報告) its leader filed on a case of
the demo campaign, waiting for the ward (so the supervisor's and the
leader's home pages show it on first start). Synthetic text only."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from ..incidents import service as incidents
from ..models import (
    CampaignCase, IncidentKind, Organisation, TrainingCourse, TrainingPlan, TrainingRecord, User,
)
from .generator import TRAINERS, TRAINING_COURSE, fiscal_year

CALL_CENTER = "callcenter"
LEADER = "leader1"


def create_demo_paperwork(dbsession, now: dt.datetime) -> dict[str, int]:
    """Adds the plan and the report when the demo's call center and its
    leader exist (a database with demo users); returns what was added."""
    org = dbsession.scalar(select(Organisation).where(Organisation.code == CALL_CENTER))
    leader = dbsession.scalar(select(User).where(User.login == LEADER))
    if org is None or leader is None:
        return {"training_plans": 0, "incidents": 0}
    records = list(dbsession.scalars(
        select(TrainingRecord).join(User, User.id == TrainingRecord.user_id)
        .where(User.organisation_id == org.id, TrainingRecord.course == TRAINING_COURSE)))
    added = {"training_plans": 0, "incidents": 0}
    if records:
        held_on = min(r.trained_on for r in records)
        plan = TrainingPlan(organisation_id=org.id, fiscal_year=fiscal_year(held_on), created_by=leader.id,
                            created_at=now)
        dbsession.add(plan)
        dbsession.flush()
        course = TrainingCourse(plan_id=plan.id, title=TRAINING_COURSE, held_on=held_on,
                                trainer=TRAINERS[CALL_CENTER], required=True, created_by=leader.id,
                                created_at=now, summary="守秘義務（地方税法22条）、個人情報の取扱い、"
                                                        "本人確認の手順、事故発生時の報告")
        dbsession.add(course)
        dbsession.flush()
        for record in records:
            record.course_id = course.id
        added["training_plans"] = 1
    case_id = dbsession.scalar(select(CampaignCase.case_id).order_by(CampaignCase.id).limit(1))
    if case_id is not None:
        discovered = now - dt.timedelta(hours=20)
        incidents.file(dbsession, incidents.Filing(
            kind=IncidentKind.wrong_person, occurred_at=discovered - dt.timedelta(minutes=40),
            discovered_at=discovered,
            description="同姓の別人の番号に架電し、本人確認の前に「納付のご案内」と名乗った。"
                        "税額・滞納の事実は伝えていない。（デモ）",
            first_actions="通話を終了し、当該番号への架電を停止。責任者が経緯を確認した。",
            case_ids=[case_id], medium_ids=[]), user=leader, now=now)
        added["incidents"] = 1
    dbsession.flush()
    return added
