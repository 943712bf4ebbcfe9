# hostile: rewrites the harness inside its own worker so that every `calls` probe returns no outcome at all (issue 9, finding 1: outcomes were matched by position and never counted)
# expect: status=graded; max_score=0; failed=preprocess_dense,to_one_hot,choose_loss,find_misclassified,most_confused_pairs; flagged=tampering

# %%
MARKER = "cnn1-hostile-integrity_empty_outcomes"  # in the argv of every process this file starts

# %%
import sys

import numpy as np


def preprocess_dense(images):
    raise RuntimeError("never computed: the rewritten harness answers instead")


def to_one_hot(labels, num_classes=10):
    raise RuntimeError("never computed")


def choose_loss(labels, num_classes):
    raise RuntimeError("never computed")


def find_misclassified(predicted, actual):
    raise RuntimeError("never computed")


def most_confused_pairs(cm, k=3):
    raise RuntimeError("never computed")


# %%
# The harness's module is a frame up the stack of every cell: its class is reachable from any cell.
frame = sys._getframe()
while "Harness" not in frame.f_globals:
    frame = frame.f_back
frame.f_globals["Harness"].probe_calls = lambda self, probe: []
