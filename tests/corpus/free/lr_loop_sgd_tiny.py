# free-corpus: full homework; the MNIST CNN (chapter layout, sparse labels, correctly scaled) is compiled only with SGD at tiny learning rates in a loop over [1e-5, 1e-6], so no setup can learn in 2 epochs; Parts A and C are correct
# expect: dense_model=pass dense_training=pass cnn_model=pass cnn_training=pass cnn_test_accuracy=fail cifar_model=pass cross_validation=pass learning_curves=pass error_analysis=pass

# %%
import numpy as np
from tensorflow import keras
from tensorflow.keras import layers, optimizers

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()

# %% [markdown]
# ## 実習①

# %%
x_tr = x_train.reshape(len(x_train), 784) / 255.0
x_te = x_test.reshape(len(x_test), 784) / 255.0
mlp = keras.Sequential([
    layers.Input(shape=(784,)),
    layers.Dense(64, activation='relu'),
    layers.Dense(10, activation='softmax'),
])
mlp.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
mlp.fit(x_tr, y_train, epochs=5, batch_size=128)
print('MLP', mlp.evaluate(x_te, y_test, verbose=0))

# %% [markdown]
# ## 実習②：学習率を小さくすると安定するか試す

# %%
x_tr4 = x_tr.reshape(-1, 28, 28, 1)
x_te4 = x_te.reshape(-1, 28, 28, 1)

def build_cnn():
    return keras.Sequential([
        layers.Input(shape=(28, 28, 1)),
        layers.Conv2D(16, (3, 3), activation='relu'),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(32, (3, 3), activation='relu'),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(32, activation='relu'),
        layers.Dense(10, activation='softmax'),
    ])

scores = {}
for lr in [1e-5, 1e-6]:
    cnn = build_cnn()
    cnn.compile(optimizer=optimizers.SGD(learning_rate=lr),
                loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    cnn.fit(x_tr4, y_train, epochs=3, batch_size=32, verbose=0)
    scores[lr] = cnn.evaluate(x_te4, y_test, verbose=0)[1]
    print(f'lr={lr}: test accuracy {scores[lr]:.4f}')

# %% [markdown]
# ## 課題：CIFAR-10（こちらは Adam）

# %%
import matplotlib.pyplot as plt
from sklearn.model_selection import KFold
from sklearn.metrics import ConfusionMatrixDisplay

(cx, cy), (cx_te, cy_te) = keras.datasets.cifar10.load_data()
cx, cx_te = cx.astype('float32') / 255, cx_te.astype('float32') / 255
cy, cy_te = cy.ravel(), cy_te.ravel()
labels = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

def build_cifar_cnn():
    m = keras.Sequential([
        layers.Input(shape=(32, 32, 3)),
        layers.Conv2D(32, (3, 3), activation='relu'),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation='relu'),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(64, activation='relu'),
        layers.Dense(10, activation='softmax'),
    ])
    m.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return m

# %%
x_cv, y_cv = cx[:10000], cy[:10000]
hists = []
for i, (tr, va) in enumerate(KFold(5, shuffle=True, random_state=0).split(x_cv)):
    m = build_cifar_cnn()
    hists.append(m.fit(x_cv[tr], y_cv[tr], epochs=10, batch_size=64, validation_data=(x_cv[va], y_cv[va]), verbose=0))
    print(i, hists[-1].history['val_accuracy'][-1])

# %%
plt.figure(figsize=(10, 4))
plt.subplot(1, 2, 1)
plt.plot(np.mean([h.history['accuracy'] for h in hists], axis=0), label='train')
plt.plot(np.mean([h.history['val_accuracy'] for h in hists], axis=0), label='validation')
plt.title('accuracy'); plt.legend()
plt.subplot(1, 2, 2)
plt.plot(np.mean([h.history['loss'] for h in hists], axis=0), label='train')
plt.plot(np.mean([h.history['val_loss'] for h in hists], axis=0), label='validation')
plt.title('loss'); plt.legend()
plt.show()

# %%
ConfusionMatrixDisplay.from_predictions(cy_te, m.predict(cx_te).argmax(1), display_labels=labels, xticks_rotation=90)
plt.show()
