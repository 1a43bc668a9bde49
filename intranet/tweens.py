"""Security headers on every response."""
from pyramid.tweens import INGRESS

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def security_headers_tween_factory(handler, registry):
    hsts = registry.app_settings.session.secure_cookie

    def security_headers_tween(request):
        response = handler(request)
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if hsts:
            headers["Strict-Transport-Security"] = "max-age=31536000"
        if not request.path.startswith("/static/"):
            # Pages carry personal data: never store them (browser or proxy).
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        return response

    return security_headers_tween


def includeme(config):
    config.add_tween("intranet.tweens.security_headers_tween_factory", under=INGRESS)
