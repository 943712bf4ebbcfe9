# free-corpus: full homework written with the functional API (keras.Input + keras.Model) everywhere, (28, 28) input + Flatten for the Dense model, StratifiedKFold; all correct
# expect: dense_model=pass dense_training=pass cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=pass cross_validation=pass learning_curves=pass error_analysis=pass

# %% [markdown]
# # CNN I homework — functional API version
# The chapter uses the Sequential API; I rewrote everything with the functional API to practise it.

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers
from sklearn.model_selection import StratifiedKFold

keras.utils.set_random_seed(1)

# %% [markdown]
# ## Part A: Dense network on MNIST (input kept as 28×28, flattened inside the model)

# %%
(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.astype("float32") / 255.0
x_test = x_test.astype("float32") / 255.0
y_train_1h = keras.utils.to_categorical(y_train, 10)
y_test_1h = keras.utils.to_categorical(y_test, 10)

# %%
inp = keras.Input(shape=(28, 28), name="digits")
h = layers.Flatten()(inp)
h = layers.Dense(128, activation="relu")(h)
h = layers.Dense(64, activation="relu")(h)
out = layers.Dense(10, activation="softmax")(h)
mlp = keras.Model(inp, out, name="mlp")
mlp.summary()

mlp.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
mlp.fit(x_train, y_train_1h, batch_size=128, epochs=5, validation_split=0.1)
print("MLP test acc:", mlp.evaluate(x_test, y_test_1h, verbose=0)[1])

# %% [markdown]
# ## Part B: the chapter's CNN (30,762 parameters)

# %%
x_train4 = x_train[..., np.newaxis]   # (60000, 28, 28, 1)
x_test4 = x_test[..., np.newaxis]

inp = keras.Input(shape=(28, 28, 1))
z = layers.Conv2D(16, 3, activation="relu")(inp)
z = layers.MaxPooling2D(2)(z)
z = layers.Conv2D(32, 3, activation="relu")(z)
z = layers.MaxPooling2D(2)(z)
z = layers.Flatten()(z)
z = layers.Dense(32, activation="relu")(z)
out = layers.Dense(10, activation="softmax")(z)
cnn = keras.Model(inputs=inp, outputs=out, name="mnist_cnn")
print("parameters:", cnn.count_params())

cnn.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
            loss="sparse_categorical_crossentropy", metrics=["accuracy"])
cnn.fit(x_train4, y_train, epochs=3, batch_size=32)
print("CNN test acc:", cnn.evaluate(x_test4, y_test, verbose=0)[1])

# %% [markdown]
# ## Part C: CIFAR-10 with stratified 5-fold CV

# %%
(cx, cy), (cx_test, cy_test) = keras.datasets.cifar10.load_data()
cx = cx.astype("float32") / 255.0
cx_test = cx_test.astype("float32") / 255.0
cy = cy.ravel()
cy_test = cy_test.ravel()
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

N = 8000  # subset to keep the runtime reasonable on Colab
cx_cv, cy_cv = cx[:N], cy[:N]

def build_cifar():
    i = keras.Input(shape=(32, 32, 3))
    t = layers.Conv2D(32, 3, padding="same", activation="relu")(i)
    t = layers.MaxPooling2D()(t)
    t = layers.Conv2D(64, 3, padding="same", activation="relu")(t)
    t = layers.MaxPooling2D()(t)
    t = layers.Flatten()(t)
    t = layers.Dense(128, activation="relu")(t)
    o = layers.Dense(10, activation="softmax")(t)
    m = keras.Model(i, o)
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m

# %%
skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=42)
results = []
for k, (train_ix, val_ix) in enumerate(skf.split(cx_cv, cy_cv)):
    net = build_cifar()
    hist = net.fit(cx_cv[train_ix], cy_cv[train_ix],
                   validation_data=(cx_cv[val_ix], cy_cv[val_ix]),
                   epochs=8, batch_size=64, verbose=0)
    results.append(hist)
    print(f"fold {k}: val_acc={hist.history['val_accuracy'][-1]:.3f}")

scores = [r.history["val_accuracy"][-1] for r in results]
print(f"CV accuracy: {np.mean(scores):.3f} +/- {np.std(scores):.3f}")

# %%
fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
for k, r in enumerate(results):
    a1.plot(r.history["loss"], color=f"C{k}")
    a1.plot(r.history["val_loss"], color=f"C{k}", linestyle="--")
    a2.plot(r.history["accuracy"], color=f"C{k}")
    a2.plot(r.history["val_accuracy"], color=f"C{k}", linestyle="--")
a1.set_xlabel("epoch"); a1.set_ylabel("loss (solid = train, dashed = validation)")
a2.set_xlabel("epoch"); a2.set_ylabel("accuracy (solid = train, dashed = validation)")
plt.show()

# %%
probs = net.predict(cx_test)
pred = probs.argmax(axis=1)
wrong = np.where(pred != cy_test)[0]
print("misclassified:", len(wrong), "of", len(cy_test))

plt.figure(figsize=(12, 6))
for n, idx in enumerate(wrong[:15]):
    plt.subplot(3, 5, n + 1)
    plt.imshow(cx_test[idx])
    plt.title(f"pred: {CLASSES[pred[idx]]}\ntrue: {CLASSES[cy_test[idx]]}", fontsize=9)
    plt.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# Most errors are between animals (cat/dog/deer) and between automobile/truck. Images with unusual
# backgrounds (a horse in front of blue sky) tend to be predicted as airplane or bird.
