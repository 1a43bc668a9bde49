"""Synthetic demo data (``intranet demo-data``)."""
