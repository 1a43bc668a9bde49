"""Field-survey pages (scanned by intranet.survey.includeme)."""
