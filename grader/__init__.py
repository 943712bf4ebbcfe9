"""Autograder for the chapter 深層学習③ CNN I: grades a notebook or .py in seconds, in isolation."""

__version__ = "0.1.0"
