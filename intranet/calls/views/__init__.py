"""Call-center pages (scanned by intranet.calls.includeme)."""
