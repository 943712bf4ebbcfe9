# free-corpus: Part C only; the KFold indices are unpacked in the wrong order (for val_idx, train_idx in kf.split), so each model trains on one fifth and validates on the other four fifths (validation folds overlap); the rest is correct
# expect: dense_model=fail dense_training=fail cnn_model=fail cnn_training=fail cnn_test_accuracy=fail cifar_model=pass cross_validation=fail learning_curves=pass error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
from sklearn.model_selection import KFold
from sklearn.metrics import confusion_matrix

# %%
(x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
x_train = x_train.astype("float32") / 255.0
x_test = x_test.astype("float32") / 255.0
y_train = y_train.reshape(-1)
y_test = y_test.reshape(-1)

# %%
def cifar_cnn():
    m = keras.Sequential([
        keras.layers.Input((32, 32, 3)),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m

# %%
kf = KFold(n_splits=5, shuffle=True, random_state=3)
x_sub, y_sub = x_train[:10000], y_train[:10000]
hist_list, val_scores = [], []
for val_idx, train_idx in kf.split(x_sub):
    model = cifar_cnn()
    hist = model.fit(x_sub[train_idx], y_sub[train_idx], epochs=8, batch_size=64,
                     validation_data=(x_sub[val_idx], y_sub[val_idx]), verbose=0)
    hist_list.append(hist.history)
    val_scores.append(hist.history["val_accuracy"][-1])
print("fold scores:", np.round(val_scores, 3), "mean:", np.mean(val_scores))

# %%
mean_tr = np.mean([h["accuracy"] for h in hist_list], axis=0)
mean_va = np.mean([h["val_accuracy"] for h in hist_list], axis=0)
plt.plot(range(1, len(mean_tr) + 1), mean_tr, label="train (mean of folds)")
plt.plot(range(1, len(mean_va) + 1), mean_va, label="validation (mean of folds)")
plt.xlabel("epoch"); plt.ylabel("accuracy"); plt.legend()
plt.show()

# %%
cm = confusion_matrix(y_test, model.predict(x_test).argmax(1))
plt.matshow(cm, cmap="viridis")
plt.colorbar()
plt.title("confusion matrix")
plt.show()
