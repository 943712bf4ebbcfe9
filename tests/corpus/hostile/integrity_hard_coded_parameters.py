# hostile: three beginner mistakes that used to pass (issue 9, finding 3): cross_validate hard-codes n_splits=3 (the value the old probe used), trains once and copies that history into every fold; plot_misclassified ignores `indices` and writes every label into every title
# expect: status=graded; max_score=0; failed=cross_validation_folds,cross_validation_fresh_model,cross_validation_summary,plot_misclassified; flagged=none

# %%
MARKER = "cnn1-hostile-integrity_hard_coded_parameters"  # in the argv of every process this file starts

# %%
import numpy as np
import matplotlib.pyplot as plt
from sklearn.model_selection import KFold


def cross_validate(images, labels, build_fn=None, n_splits=5, epochs=10, batch_size=64, seed=0):
    x, y = np.asarray(images), np.asarray(labels).reshape(-1)
    folds = list(KFold(n_splits=3, shuffle=True, random_state=seed).split(x))
    train_idx, val_idx = folds[0]
    history = build_fn().fit(x[train_idx], y[train_idx], epochs=epochs, batch_size=batch_size,
                             validation_data=(x[val_idx], y[val_idx]), verbose=0)
    histories = [dict(history.history) for _ in folds]
    accuracies = [h["val_accuracy"][-1] for h in histories]
    return {"histories": histories, "val_accuracy": accuracies, "val_loss": [h["val_loss"][-1] for h in histories],
            "mean_accuracy": float(np.mean(accuracies)), "std_accuracy": float(np.std(accuracies))}


def plot_misclassified(images, predicted, actual, indices, max_images=5):
    images = np.asarray(images)
    everything = " ".join(str(v) for v in range(10))
    fig, axes = plt.subplots(1, max_images, squeeze=False)
    for k, ax in enumerate(axes[0]):
        ax.imshow(images[k])
        ax.set_title(f"pred/true among {everything}")
    return fig
