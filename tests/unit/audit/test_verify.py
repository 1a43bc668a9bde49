"""Which checkpoints are trusted, the checkpoint file, and the walk's memory."""
import datetime as dt
import json
import os
import tracemalloc

import pytest

from intranet.audit import chain
from intranet.audit.chain import Break, Reason, Source
from intranet.audit.verify import (
    FUTURE_TOLERANCE, Checkpoint, CheckpointFile, checkpoint_problem, checkpoint_stream, parse_at,
)

KEY = b"unit-test-key-0123456789abcdef0123"
NOW = dt.datetime(2026, 11, 24, 0, 30, 0, 250000)


def sealed(seq, value="a" * 64, at=NOW, source=Source.Database, ref=1):
    return Checkpoint(seq, value, at, chain.seal(KEY, "checkpoint", seq, value, at), source, ref)


def test_a_checkpoint_is_trusted_only_with_its_mac_and_not_from_the_future():
    assert checkpoint_problem(KEY, sealed(5), NOW) is None
    assert checkpoint_problem(KEY, sealed(5, at=NOW + FUTURE_TOLERANCE), NOW) is None
    future = checkpoint_problem(KEY, sealed(5, at=NOW + FUTURE_TOLERANCE + dt.timedelta(seconds=1)), NOW)
    assert (future.kind, future.seq) == (Break.FutureCheckpoint, 5)
    good = sealed(5)
    for forged, reason in [
        (Checkpoint(5, good.chain, good.at, None, Source.Database, 1), Reason.NoMac),
        (Checkpoint(5, good.chain, good.at, "", Source.Database, 1), Reason.NoMac),
        (Checkpoint(6, good.chain, good.at, good.mac, Source.Database, 1), Reason.WrongMac),
        (Checkpoint(5, "b" * 64, good.at, good.mac, Source.Database, 1), Reason.WrongMac),
        (Checkpoint(5, good.chain, good.at.replace(microsecond=0), good.mac, Source.File, 3),
         Reason.WrongMac),
        (Checkpoint(5, good.chain, None, good.mac, Source.File, 3), Reason.WrongMac),
    ]:
        finding = checkpoint_problem(KEY, forged, NOW)
        assert (finding.kind, finding.reason, finding.source) == (
            Break.ForgedCheckpoint, reason, forged.source)
    # a file line from before MACs existed is the file's word, as it always was
    assert checkpoint_problem(KEY, Checkpoint(5, "b" * 64, None, None, Source.File, 3), NOW) is None


def test_the_checkpoint_file_is_read_whole_and_handed_back_in_seq_order(tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    lines = [
        json.dumps({"seq": 9, "chain": "c" * 64, "at": "2026-11-24T00:30:00.250000Z", "mac": "m"}),
        "",
        json.dumps({"seq": 4, "chain": "a" * 64, "at": "2026-11-24T00:15:00Z"}),
        json.dumps({"seq": 4, "chain": "b" * 64, "at": "2026-11-24T00:16:00+00:00"}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with CheckpointFile(str(path)) as checkpoints:
        assert len(checkpoints) == 3
        assert [(c.seq, c.chain[0], c.ref, c.mac) for c in checkpoints] == [
            (4, "a", 3, None), (4, "b", 4, None), (9, "c", 1, "m")]
        assert [c.at for c in checkpoints] == [dt.datetime(2026, 11, 24, 0, 15),
                                               dt.datetime(2026, 11, 24, 0, 16), NOW]
        temporary = checkpoints._db_path
    assert not os.path.exists(temporary)


@pytest.mark.parametrize("line", ["not json", '{"chain": "x"}', '{"seq": "x", "chain": "y"}',
                                  '{"seq": 1, "chain": "y", "at": "yesterday"}', "[1, 2]"])
def test_a_malformed_checkpoint_line_is_named(tmp_path, line):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"seq": 1, "chain": "a"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not a checkpoint line"):
        CheckpointFile(str(path))


def test_parse_at_gives_naive_utc():
    assert parse_at("2026-11-24T09:30:00+09:00") == dt.datetime(2026, 11, 24, 0, 30)
    assert parse_at("2026-11-24T00:30:00Z") == dt.datetime(2026, 11, 24, 0, 30)


def test_the_stream_merges_sources_and_reports_what_it_does_not_trust():
    report = chain.Report()
    database = [sealed(2, "a" * 64), Checkpoint(3, "f" * 64, NOW, None, Source.Database, 7),
                sealed(5, "b" * 64)]
    file = [sealed(2, "a" * 64, source=Source.File), sealed(5, "c" * 64, source=Source.File)]
    groups = list(checkpoint_stream(KEY, NOW, report, iter(database), iter(file),
                                    claims={1: {"d" * 64}, 5: {"e" * 64}, 9: {"9" * 64}}))
    assert groups == [(1, set(), {"d" * 64}), (2, {"a" * 64}, set()), (3, set(), {"f" * 64}),
                      (5, {"b" * 64, "c" * 64}, {"e" * 64}), (9, set(), {"9" * 64})]
    assert report.kinds() == [(Break.ForgedCheckpoint, 3), (Break.CheckpointConflict, 5)]
    assert report.sorted()[1].source == "database+file"


def test_the_walk_keeps_constant_memory():
    """20,000 entries and 2,000 checkpoints, all generated lazily: the walk
    holds a few values, never the log or the checkpoints."""
    def rows(n):
        previous = chain.GENESIS
        for seq in range(1, n + 1):
            entry = {name: None for name in chain.FIELDS}
            entry.update(seq=seq, kind="request", occurred_at=NOW, request_id=f"r{seq}",
                         outcome="allowed", case_count=0)
            if seq % 5_000 == 0:
                entry["login"] = "edited"  # after the link was computed: one break in 5,000
                entry["chain"] = previous = chain.link(KEY, previous, chain.canonical(
                    {**entry, "login": None}, []))
            else:
                entry["chain"] = previous = chain.link(KEY, previous, chain.canonical(entry, []))
            yield entry, []

    def checkpoints(n):
        for seq in range(10, n + 1, 10):
            yield seq, set(), {"0" * 64}

    tracemalloc.start()
    report = chain.verify(KEY, rows(20_000), checkpoints=checkpoints(20_000))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert report.kinds() == [(Break.Mismatch, s) for s in (5_000, 10_000, 15_000, 20_000)]
    assert report.checked == 19_996
    assert peak < 200_000, peak  # about 10 KB, whatever the length
