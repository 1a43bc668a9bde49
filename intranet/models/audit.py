"""The access log: append-only, hash-chained entries and what they disclosed.

The tables are written only by :mod:`intranet.audit.writer`. Database triggers
(alembic revision 0002) reject UPDATE, DELETE and TRUNCATE on them; the only
rows that may ever be deleted are entries already covered by a recorded
archive (:class:`AccessLogArchive`), by the documented retention procedure.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base

#: Tables whose rows are never updated or deleted by the application (tests
#: leave them alone when they empty the database between tests).
APPEND_ONLY = {"info": {"append_only": True}}


class AccessLogEntry(Base):
    """One request that reached the application, or one security event
    (login, logout, session end, lockout) that happened during a request."""

    __tablename__ = "access_log"
    __table_args__ = APPEND_ONLY

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: HMAC-SHA256 over the previous entry's chain and this entry's canonical content.
    chain: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))            # request | event
    event: Mapped[str | None] = mapped_column(String(32))   # login.success, session.ended, ...
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)  # UTC
    request_id: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    login: Mapped[str | None] = mapped_column(String(64))
    roles: Mapped[str | None] = mapped_column(String(64))
    organisation: Mapped[str | None] = mapped_column(String(40))
    session_id: Mapped[int | None] = mapped_column(Integer)  # LoginSession.id, never the token
    client_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    method: Mapped[str | None] = mapped_column(String(8))
    path: Mapped[str | None] = mapped_column(String(512))
    query: Mapped[str | None] = mapped_column(String(512))  # known-safe parameters only
    view_name: Mapped[str | None] = mapped_column(String(128))
    context_type: Mapped[str | None] = mapped_column(String(40))
    context_id: Mapped[str | None] = mapped_column(String(64))
    permission: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[int | None] = mapped_column(Integer)
    duration_us: Mapped[int | None] = mapped_column(Integer)
    facets: Mapped[str | None] = mapped_column(String(400))  # space-separated facet names
    case_count: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(String(400))  # JSON, never personal data

    cases: Mapped[list[AccessLogCase]] = relationship(
        order_by="AccessLogCase.position", viewonly=True)


class AccessLogCase(Base):
    """A case an entry disclosed (a list page of 50 cases has 50 of these)."""

    __tablename__ = "access_log_cases"
    __table_args__ = (
        Index("ix_access_log_cases_case_no_entry", "case_no", "entry_seq"),
        APPEND_ONLY,
    )

    entry_seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("access_log.seq"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_id: Mapped[int] = mapped_column(Integer)  # no foreign key: the log outlives cases
    case_no: Mapped[str] = mapped_column(String(16))


class AccessLogHead(Base):
    """The single row holding the last sequence number and chain value.

    Every append first updates this row, which serializes appenders (a row
    lock on PostgreSQL, the write lock on SQLite) so the chain never forks.
    It is a cache: verification trusts only the entries and checkpoints."""

    __tablename__ = "access_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    chain: Mapped[str] = mapped_column(String(64))


class AccessLogCheckpoint(Base):
    """(sequence, chain value, time), also written outside the database."""

    __tablename__ = "access_log_checkpoints"
    __table_args__ = APPEND_ONLY

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    chain: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    #: chain.seal(key, "checkpoint", seq, chain, created_at): only the key's holder writes one.
    mac: Mapped[str | None] = mapped_column(String(64))
    #: The Merkle tree at ``seq`` (issue 22): its size (= ``seq``) and root,
    #: and the C2SP signed checkpoint note over them (NULL: written before
    #: the tree, or without a signing key).
    tree_size: Mapped[int | None] = mapped_column(BigInteger)
    root: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


class AccessLogArchive(Base):
    """A retention cut: entries up to ``upto_seq`` were exported to a verified
    archive file (``file_sha256``) and may be removed from the database."""

    __tablename__ = "access_log_archives"
    __table_args__ = APPEND_ONLY

    id: Mapped[int] = mapped_column(primary_key=True)
    upto_seq: Mapped[int] = mapped_column(BigInteger)
    chain: Mapped[str] = mapped_column(String(64))  # chain value of entry upto_seq
    entries: Mapped[int] = mapped_column(Integer)
    before: Mapped[dt.datetime] = mapped_column(DateTime)  # entries older than this (UTC)
    file_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    #: chain.seal(key, "cut", upto_seq, chain, file_sha256, before, created_at).
    mac: Mapped[str | None] = mapped_column(String(64))


class AccessLogLeaf(Base):
    """The Merkle tree's leaf of entry ``seq`` (leaf index ``seq - 1``) and
    its link in the organisation's own chain (:mod:`intranet.audit.tree`).

    Kept when an archive cut removes the entry: the tree's proofs outlive it."""

    __tablename__ = "access_log_leaves"
    __table_args__ = (
        Index("ix_access_log_leaves_organisation_seq", "organisation", "seq"),
        APPEND_ONLY,
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    organisation: Mapped[str | None] = mapped_column(String(40))
    #: leaf hash (hex) of the previous entry of the same organisation; zeros for the first
    org_prev: Mapped[str] = mapped_column(String(64))
    leaf_hash: Mapped[str] = mapped_column(String(64))


class AccessLogTreeNode(Base):
    """An interior node of the tree: the root of the perfect subtree over
    leaves ``[idx * 2**level, (idx + 1) * 2**level)``. Only levels that are
    multiples of :data:`intranet.audit.tree.STRIDE` are stored; any other
    node is at most ``2**(STRIDE-1)`` stored nodes away."""

    __tablename__ = "access_log_tree_nodes"
    __table_args__ = APPEND_ONLY

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


class AccessLogTreeHead(Base):
    """The single row saying how far the tree reaches: its size, the chain
    value of its last entry and its right edge (the compact range, hex
    hashes concatenated). A cache for extending the tree: proofs and
    verification recompute from the leaves and nodes. (Left alone by the
    tests' cleanup like the tables it describes; no triggers: it moves.)"""

    __tablename__ = "access_log_tree_head"
    __table_args__ = APPEND_ONLY

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    chain: Mapped[str] = mapped_column(String(64))
    compact: Mapped[str] = mapped_column(Text)
    #: each organisation's chain head at ``size``: JSON {code or "": [seq, leaf hash]}
    org_heads: Mapped[str] = mapped_column(Text)
