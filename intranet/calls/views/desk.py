"""The operator's desk and "次の架電" (next call)."""
from __future__ import annotations

from pyramid.view import view_config
from sqlalchemy import select

from ...models import CallTarget, TargetStatus
from ...resources import CallCenter
from ...security.permissions import Permission
from .. import promises, queue
from .common import queue_settings, redirect


@view_config(context=CallCenter, renderer="calls/desk.jinja2", permission=Permission.CallQueueWork)
def desk(request):
    operator = request.identity
    now = request.now
    callbacks = request.dbsession.scalars(
        select(CallTarget).where(CallTarget.callback_operator_id == operator.id,
                                 CallTarget.status == TargetStatus.queued,
                                 CallTarget.callback_at.is_not(None))
        .order_by(CallTarget.callback_at).limit(50)).all()
    return {
        "open": bool(queue.calling_campaign_ids(request.dbsession, now)),
        "held": queue.current_lease(request.dbsession, operator.id, now),
        "callbacks": callbacks,
        "notice": request.GET.get("notice", "") if request.GET.get("notice", "") in {
            "closed", "empty", "recorded"} else "",
    }


@view_config(context=CallCenter, name="next", permission=Permission.CallQueueWork,
             request_method="POST")
def next_call(request):
    """次の架電: lease the next person to call (committed at once) and open the call screen."""
    now = request.now
    target_id, reason = queue.lease_next(request.registry["dbsession_factory"],
                                         request.identity.id, now, queue_settings(request),
                                         before=lambda s: promises.refresh(s, request.today, now))
    if target_id is None:
        return redirect(request, request.context, notice=reason)
    return redirect(request, request.context["targets"][str(target_id)])
