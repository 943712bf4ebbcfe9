# hostile: writes the worker's results itself, each within the per-file limits, so that every probe's result refers thousands of times to one 150 MB array, then ends the worker so the next attempt keeps them (issue 10, finding 3: the grader's memory grew to 11 GB)
# expect: status=graded; max_score=0; failed=preprocess_dense,to_one_hot,choose_loss; feedback~larger than the grader reads; seconds=180

# %%
MARKER = "cnn1-hostile-resource_artifact_references"  # in the argv of every process this file starts

# %%
import json
import os

import numpy as np

def preprocess_dense(images):
    """A template function left to write (the notebook is graded against the contract, whose
    probes' results it forges below)."""
    raise NotImplementedError


with open("/tmp/in/spec.json") as f:
    probes = [probe["id"] for probe in json.load(f)["probes"]]
big = np.zeros(150 * 2**20 // 8)  # 150 MB: within the 200 MB limit of one array
reference = {"kind": "ndarray", "file": "v1.npy"}
for probe in probes:
    folder = os.path.join("/tmp/out/probes", probe)
    os.makedirs(folder, exist_ok=True)
    if probe == probes[0]:
        np.save(os.path.join(folder, "v1.npy"), big)
    else:  # a hard link where the file system allows it: no disk spent, the same 150 MB each time
        try:
            os.link(os.path.join("/tmp/out/probes", probes[0], "v1.npy"), os.path.join(folder, "v1.npy"))
        except OSError:
            pass
    value = {"kind": "seq", "type": "list", "items": [reference] * 5000}
    with open(os.path.join(folder, "result.json"), "w") as f:
        json.dump({"status": "ok", "value": value}, f)
os._exit(0)
