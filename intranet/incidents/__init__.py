"""Incident reports (事故報告, issue 25): a contractor's 責任者 files one, a
ward supervisor acknowledges it with instructions and closes it (seed 000
特記事項11, seed 004 特記事項19). See docs/security.md, "Incident reports"."""


def includeme(config):
    config.scan(".views")
