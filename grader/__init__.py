"""Autograder for the chapter 深層学習③ CNN I: grades a notebook or .py in seconds, in isolation."""

import os

from grader.protocol import TRAINING_THREADS

__version__ = "0.1.0"

# Before anything starts TensorFlow (it reads these once): the grader's own training uses the same
# thread pools as the worker's, so that a grade is the same on every machine (protocol.TRAINING_THREADS).
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(TRAINING_THREADS))
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
