"""Free-form checks: one test per entry of assignment/rubric_free.toml (see evidence.py)."""
