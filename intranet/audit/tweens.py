"""The two access-log tweens and where they sit.

The tween chain, from the WSGI server inward::

    security_headers   (intranet.tweens: headers on every response, ours too)
    access_log         <- writes the entries, fail closed
    pyramid_tm         (begins the request's transaction; commits or aborts it)
    access_capture     <- notes who asked and the context, inside the transaction
    excview            (turns exceptions into error pages: 403, 404, 400, 500)
    the router's view lookup, view derivers (intranet.audit.derivers), the view

``access_log`` sits *over* pyramid_tm: when the handler returns, the
request's own transaction has already committed or aborted, so the entry is
written in a transaction of its own. An aborted request (a denied page, an
error, a forbidden form) is therefore logged all the same, and nothing the
request did can roll the entry back. The entry is committed before the
response is returned; if it cannot be written the response is thrown away and
the user gets an error page with no data: the log fails closed.

``access_capture`` sits *under* pyramid_tm because reading the user (the
session row) needs the request's transaction, which is over once pyramid_tm
returns. It sits over excview so that it also runs for error pages.

One consequence is worth stating: a request that *changed* data commits that
change before its entry is written. If the log write then fails, the user sees
an error and the change stands without an entry; the application log records
the request id and the failure, never personal data.
"""
from __future__ import annotations

import logging

from pyramid.response import Response
from pyramid_retry import is_error_retryable, is_last_attempt

from ..monitoring import MONITORING_PATHS
from .checkpoints import CheckpointFailed

log = logging.getLogger(__name__)

UNLOGGED_PREFIXES = ("/static/",)


def unlogged(request) -> bool:
    """Static files, and the monitoring network's reads of ``/healthz`` and
    ``/metrics`` (issue 24): no personal data, a scrape every few seconds
    would fill the log, and the health page must answer when the log cannot
    be written. Anyone else asking for them is logged (and denied)."""
    if request.path.startswith(UNLOGGED_PREFIXES):
        return True
    return request.path in MONITORING_PATHS and request.in_monitoring_zone

LOG_FAILURE_PAGE = """<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>アクセス記録エラー / Access log error</title></head>
<body><h1>アクセス記録を書き込めませんでした</h1>
<p>アクセスを記録できないため、この画面は表示できません。時間をおいて再度お試しください。
解決しない場合はシステム管理者に受付番号をお伝えください。</p>
<h1 lang="en">The access could not be recorded</h1>
<p lang="en">Because this access could not be logged, nothing is shown. Please try again later,
or give the reference below to the system administrator.</p>
<p>受付番号 / Reference: <code>{request_id}</code></p></body></html>"""


SERVER_ERROR_PAGE = """<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>サーバーエラー / Server error</title></head>
<body><h1>サーバーエラーが発生しました</h1>
<p>処理を完了できませんでした。解決しない場合はシステム管理者に受付番号をお伝えください。</p>
<h1 lang="en">Server error</h1>
<p lang="en">The request could not be completed. If this persists, give the reference below
to the system administrator.</p>
<p>受付番号 / Reference: <code>{request_id}</code></p></body></html>"""


def failure_response(request_id: str, page: str = LOG_FAILURE_PAGE, status: int = 503) -> Response:
    """A bare page (no templates, no data) naming only the request id."""
    response = Response(page.format(request_id=request_id), status=status,
                        content_type="text/html", charset="utf-8")
    response.headers["X-Request-Id"] = request_id
    return response


def access_log_tween_factory(handler, registry):
    def access_log_tween(request):
        if unlogged(request):
            return handler(request)
        record = request.audit
        response, error = None, None
        try:
            response = handler(request)
        except Exception as exc:
            if is_error_retryable(request, exc) and not is_last_attempt(request):
                raise  # pyramid_retry runs the request again; that attempt is logged
            error = exc
            log.error("unhandled %s (request %s)", type(exc).__name__, record.request_id,
                      exc_info=exc)
        squashed = getattr(request, "exception", None)
        if (response is not None and squashed is not None
                and is_error_retryable(request, squashed) and not is_last_attempt(request)):
            return response  # an error page pyramid_retry discards before retrying
        status = response.status_code if response is not None else 500
        try:
            download = response is not None and (
                response.content_disposition or "").startswith("attachment")
            rows = record.entries(request, status, error is not None, download)
            seq, value = registry.access_log.append(rows)
        except Exception as exc:  # noqa: BLE001 - any failure closes the response
            log.error("access log write failed (request %s): %s", record.request_id,
                      type(exc).__name__)
            return failure_response(record.request_id)
        _checkpoint(registry, request, seq, value)
        if response is None:
            return failure_response(record.request_id, SERVER_ERROR_PAGE, 500)
        response.headers["X-Request-Id"] = record.request_id
        return response

    return access_log_tween


def _checkpoint(registry, request, seq: int, value: str) -> None:
    """A due checkpoint after the append. Its failure does not touch the
    response (the entry itself is safe) but is loud: an event in the log (at
    the checkpointer's bounded retry rate, never per request), the banner and
    ``/healthz``."""
    now = registry.clock.now()
    try:
        registry.access_checkpointer.maybe_write(seq, value, now)
    except CheckpointFailed as exc:
        log.error("access log checkpoint failed (request %s): %s", request.audit.request_id, exc)
        try:
            registry.access_log.append(request.audit.witness_failure(request, str(exc)))
        except Exception as inner:  # noqa: BLE001 - the banner and /healthz still say it
            log.error("access log: the checkpoint failure could not be logged: %s",
                      type(inner).__name__)
    except Exception as exc:  # noqa: BLE001 - reading the newest checkpoint failed
        log.error("access log checkpoint check failed: %s", type(exc).__name__)


def access_capture_tween_factory(handler, registry):
    def access_capture_tween(request):
        try:
            return handler(request)
        finally:
            if not request.path.startswith(UNLOGGED_PREFIXES):
                try:
                    request.audit.capture(request)
                except Exception as exc:  # noqa: BLE001 - recorded as unknown user
                    log.warning("access log could not capture the user: %s", type(exc).__name__)
    return access_capture_tween
