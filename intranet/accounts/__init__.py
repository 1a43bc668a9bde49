"""User accounts beyond logging in: training records (:mod:`.training`)."""
