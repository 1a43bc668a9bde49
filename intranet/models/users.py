"""Organisations, users and their server-side login sessions."""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String,
    UniqueConstraint, func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import false

from .meta import Base, str_enum


class Role(enum.StrEnum):
    """The four roles of the intranet (see security/matrix.py)."""

    operator = "operator"      # call-center contractor staff
    collector = "collector"    # ward staff (徴収職員)
    contractor = "contractor"  # field-survey investigator
    auditor = "auditor"        # internal or external inspector


class OrganisationKind(enum.StrEnum):
    ward = "ward"
    contractor = "contractor"
    auditor = "auditor"



class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganisationKind] = mapped_column(str_enum(OrganisationKind, "organisation_kind"))

    users: Mapped[list[User]] = relationship(back_populates="organisation")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    # Collectors who administer users (係長・主査).
    is_supervisor: Mapped[bool] = mapped_column(Boolean, default=False)
    # A contractor's 責任者: the call center's 日報・月報, incident reports (matrix.TEAM_LEADER_ROLES).
    is_team_leader: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Validity window, e.g. a contract period; naive UTC datetimes, None = open.
    valid_from: Mapped[dt.datetime | None] = mapped_column(DateTime)
    valid_until: Mapped[dt.datetime | None] = mapped_column(DateTime)

    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # A temporary password (account created or reset by a supervisor): the
    # user must choose their own before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    preferred_locale: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # Contractor staff belong to a contract; its period is their validity window.
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    privacy_trained_on: Mapped[dt.date | None] = mapped_column(Date)  # 従事者教育
    # Second factor: a TOTP secret (base32) once enrolled; the last time step
    # accepted, so a code is never accepted twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enrolled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    organisation: Mapped[Organisation] = relationship(back_populates="users", lazy="joined")
    contract = relationship("Contract", back_populates="users", foreign_keys=[contract_id])

    def is_valid_at(self, now: dt.datetime) -> bool:
        """Active and inside its validity window at ``now`` (naive UTC)."""
        if not self.is_active:
            return False
        if self.valid_from is not None and now < self.valid_from:
            return False
        if self.valid_until is not None and now >= self.valid_until:
            return False
        return True

    def __principals__(self) -> list[str]:
        """What the security policy grants this user (intranet.security.principals);
        the supervisor flag counts only on the roles the matrix lets carry it."""
        from ..security import matrix, principals

        held = [principals.user(self.id), principals.role(self.role),
                principals.organisation(self.organisation_id)]
        if self.is_supervisor and self.role in matrix.SUPERVISOR_ROLES:
            held.append(principals.SUPERVISOR)
        if self.is_team_leader and self.role in matrix.TEAM_LEADER_ROLES:
            held.append(principals.TEAM_LEADER)
            held.append(principals.team_leader_role(self.role))
            held.append(principals.team_leader_of(self.organisation_id))
        return held

    def __repr__(self) -> str:  # never personal data beyond the login id
        return f"<User {self.id} {self.login!r} {self.role}>"


# Logins are compared case-insensitively (authentication, the admin pages): two
# that differ only in case cannot both exist, even when created at once.
Index("uq_users_login_lower", func.lower(User.login), unique=True)


class LoginSession(Base):
    """A server-side session. The cookie carries a random token; only its
    SHA-256 is stored, so a copy of this table cannot be replayed."""

    __tablename__ = "login_sessions"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    end_reason: Mapped[str | None] = mapped_column(String(20))
    csrf_token: Mapped[str] = mapped_column(String(64))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    # After the password, before the second factor: no principals yet.
    pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    second_factor: Mapped[str | None] = mapped_column(String(16))  # totp | recovery | webauthn
    # The WebAuthn challenge this session was last given (base64url), used once.
    challenge: Mapped[str | None] = mapped_column(String(128))

    user: Mapped[User] = relationship(lazy="joined")


class RecoveryCode(Base):
    """A one-time recovery code for a lost second factor, hashed like a password."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class SecurityKey(Base):
    """A FIDO2/WebAuthn security key (the seeds' "USB key"), registered for a
    user by a supervisor in person; a lost key is revoked, never deleted."""

    __tablename__ = "security_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    credential_id: Mapped[str] = mapped_column(String(400), unique=True)  # base64url
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    label: Mapped[str] = mapped_column(String(60))          # the number written on the key
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime)
    registered_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    registrar = relationship("User", foreign_keys=[registered_by])


class TrainingRecord(Base):
    """One course a person attended (研修・従事者教育): the call center's and the
    survey servicer's staff need a current one to log in where the ward's
    settings require it (intranet.accounts.training)."""

    __tablename__ = "training_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course: Mapped[str] = mapped_column(String(100))
    trained_on: Mapped[dt.date] = mapped_column(Date)
    trainer: Mapped[str] = mapped_column(String(100))
    # When the course must be taken again; None = never.
    next_due: Mapped[dt.date | None] = mapped_column(Date)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)
    # The course of a training plan this record completes (研修計画, issue 25).
    course_id: Mapped[int | None] = mapped_column(ForeignKey("training_courses.id"), index=True)

    user = relationship("User", foreign_keys=[user_id])
