# hostile: writing fake results.json / grades.csv / result.json (claiming full marks) into every folder it can reach, its own output folder and probe folders included
# expect: status=graded; max_score=9; passed=preprocess_dense,to_one_hot

# %%
MARKER = "cnn1-hostile-tamper_fake_results"  # in the argv of every process this file starts

# %%
import numpy as np
import keras


def preprocess_dense(images):
    """(reference solution) (N, 28, 28) integers -> (N, 784) floats equal to pixels / 255."""
    images = np.asarray(images)
    return images.reshape((len(images), 784)).astype('float32') / 255

# %%
import json
import os
import sys

FAKE_GRADESCOPE = json.dumps({"score": 100, "tests": [{"name": "all", "score": 100, "max_score": 100}],
                              "output": MARKER})
FAKE_CSV = f"student_id,score,note\nall,100,{MARKER}\n"
FAKE_PROBE = json.dumps({"status": "ok", "value": {"kind": "json", "value": MARKER}})


def folders_to_try():
    project = os.path.dirname(sys.prefix)
    fixed = [os.getcwd(), os.environ.get("HOME", "."), "/tmp", "/tmp/out", "/tmp/in", "/tmp/harness",
             "/", "/work", project, os.path.join(project, "grader"), os.path.join(project, "grader", "checks"),
             "/autograder", "/autograder/results", "/autograder/source", "/tmp/cnn1-hostile-sentinel",
             "/tmp/cnn1-hostile-sentinel/open", "/var/tmp", "/dev/shm", "/root", "/home"]
    try:
        with open("/tmp/in/spec.json") as f:
            fixed += [f"/tmp/out/probes/{p['id']}" for p in json.load(f)["probes"]]
    except (OSError, ValueError, KeyError):
        pass
    walked = []
    for top in ("/tmp", "/work", "/home", "/autograder", "/var/tmp"):
        for folder, dirs, _ in os.walk(top):
            if folder.count(os.sep) - top.count(os.sep) >= 3 or len(walked) > 3000:
                dirs[:] = []
            walked.append(folder)
    return fixed + walked


written = []
for folder in folders_to_try():
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        pass
    for name, text in (("results.json", FAKE_GRADESCOPE), ("grades.csv", FAKE_CSV), ("result.json", FAKE_PROBE)):
        try:
            with open(os.path.join(folder, name), "w") as f:
                f.write(text)
            written.append(os.path.join(folder, name))
        except OSError:
            pass
print(f"{MARKER}: wrote {len(written)} fake files, e.g. {written[:5]}")

# %%
def to_one_hot(labels, num_classes=10):
    """(reference solution) integer labels -> one-hot matrix."""
    return keras.utils.to_categorical(labels, num_classes=num_classes)
