"""Autograder for the chapter 深層学習③ CNN I: grades a notebook or .py in seconds, in isolation."""

import os

from grader.protocol import PROCESS_ENVIRONMENT

__version__ = "0.1.0"

# Before anything starts TensorFlow or numpy (they read these once): the grader's own training uses
# the same thread pools as the worker's, so that a grade is the same on every machine
# (protocol.TRAINING_THREADS), and numpy the same memory advice (protocol.PROCESS_ENVIRONMENT).
for _name, _value in PROCESS_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)
