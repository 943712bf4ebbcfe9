"""The hidden checks: one pytest test per rubric entry, named test_<rubric id>.

They run in the grader's process over the worker's validated artifacts (see grader/score.py); the
`ctx` fixture holds the probe plan, the artifacts and the rubric.
"""
