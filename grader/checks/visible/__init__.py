"""The visible checks: students see them before the deadline (`grade --student`), and the student
kit runs the same code in the notebook on the live functions (grader/student_kit.py). Nothing here
may import from the hidden checks, the grader's training or its data."""
