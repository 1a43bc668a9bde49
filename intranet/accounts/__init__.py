"""User accounts beyond logging in: administration by supervisors (the
account form's checks, refusals and logged state, :mod:`.users`) and training
records (:mod:`.training`)."""
