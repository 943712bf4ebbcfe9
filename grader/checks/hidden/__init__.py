"""The hidden checks: never shown to students and never shipped in the student kit."""
