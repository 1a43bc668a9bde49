"""FIDO2/WebAuthn security keys (the ``webauthn`` package): registration by a
supervisor in person, the login step, revocation.

The relying party is ``intranet.webauthn.rp_id`` (the host name users type,
e.g. ``intranet.city.example.jp``) and ``intranet.webauthn.origin`` (e.g.
``https://intranet.city.example.jp``); both default to ``localhost`` for the
development server. A challenge is kept on the requesting login session and
used once.
"""
from __future__ import annotations

import datetime as dt
import json

import webauthn
from sqlalchemy import select
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, options_to_json
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria, PublicKeyCredentialDescriptor, ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ..models import LoginSession, SecurityKey, User

RP_NAME = "収納管理イントラネット"
MAX_CREDENTIAL_JSON = 20_000
LABEL_MAX = 60


class KeyProblem(Exception):
    """A refused registration or assertion; ``key`` is the message key."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def relying_party(request) -> tuple[str, str]:
    """(rp_id, origin) of the WebAuthn relying party (``intranet.webauthn.*``)."""
    webauthn = request.app_settings.webauthn
    return webauthn.rp_id, webauthn.origin


def active_keys(dbsession, user: User) -> list[SecurityKey]:
    return list(dbsession.scalars(select(SecurityKey).where(
        SecurityKey.user_id == user.id, SecurityKey.revoked_at.is_(None)).order_by(SecurityKey.id)))


def _take_challenge(login_session: LoginSession) -> bytes:
    if not login_session.challenge:
        raise KeyProblem("keys.error.expired")
    challenge = base64url_to_bytes(login_session.challenge)
    login_session.challenge = None  # used once, whatever the outcome
    return challenge


def _credential(body) -> str:
    if not isinstance(body, str) or not body or len(body) > MAX_CREDENTIAL_JSON:
        raise KeyProblem("keys.error.response")
    return body


def registration_options(request, user: User) -> str:
    """Options (JSON) for ``navigator.credentials.create`` registering a key
    for ``user``; the challenge is kept on the supervisor's session."""
    rp_id, _ = relying_party(request)
    options = webauthn.generate_registration_options(
        rp_id=rp_id, rp_name=RP_NAME, user_name=user.login, user_display_name=user.login,
        user_id=str(user.id).encode(),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(k.credential_id))
                             for k in active_keys(request.dbsession, user)],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.DISCOURAGED))
    request.login_session.challenge = bytes_to_base64url(options.challenge)
    return options_to_json(options)


def register(request, user: User, credential_json, label: str) -> SecurityKey:
    label = label.strip() if isinstance(label, str) else ""
    if not label or len(label) > LABEL_MAX:
        raise KeyProblem("keys.error.label")
    challenge = _take_challenge(request.login_session)
    body = _credential(credential_json)
    rp_id, origin = relying_party(request)
    try:
        verified = webauthn.verify_registration_response(
            credential=body, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin)
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError):
        raise KeyProblem("keys.error.response") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if request.dbsession.scalar(select(SecurityKey.id).where(SecurityKey.credential_id == credential_id)):
        raise KeyProblem("keys.error.duplicate")
    key = SecurityKey(user_id=user.id, credential_id=credential_id,
                      public_key=verified.credential_public_key, sign_count=verified.sign_count,
                      label=label, registered_at=request.now, registered_by=request.identity.id)
    request.dbsession.add(key)
    request.dbsession.flush()
    return key


def authentication_options(request, user: User) -> str:
    rp_id, _ = relying_party(request)
    options = webauthn.generate_authentication_options(
        rp_id=rp_id, user_verification=UserVerificationRequirement.DISCOURAGED,
        allow_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(k.credential_id))
                           for k in active_keys(request.dbsession, user)])
    request.login_session.challenge = bytes_to_base64url(options.challenge)
    return options_to_json(options)


def authenticate(request, user: User, credential_json) -> SecurityKey:
    """The user's key that signed this assertion (its counter updated)."""
    challenge = _take_challenge(request.login_session)
    body = _credential(credential_json)
    try:
        credential_id = json.loads(body)["id"]
    except (ValueError, KeyError, TypeError):
        raise KeyProblem("keys.error.response") from None
    key = next((k for k in active_keys(request.dbsession, user) if k.credential_id == credential_id), None)
    if key is None:
        raise KeyProblem("keys.error.unknown")
    rp_id, origin = relying_party(request)
    try:
        verified = webauthn.verify_authentication_response(
            credential=body, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, credential_public_key=key.public_key,
            credential_current_sign_count=key.sign_count)
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError):
        raise KeyProblem("keys.error.response") from None
    key.sign_count, key.last_used_at = verified.new_sign_count, request.now
    return key


def revoke(key: SecurityKey, by: User, now: dt.datetime) -> None:
    if key.revoked_at is None:
        key.revoked_at, key.revoked_by = now, by.id
