# free-corpus: Part B plus a 5-fold CV done on MNIST with the chapter's CNN instead of CIFAR-10 (the homework was misread); fresh model per fold, fold curves with legend and a confusion matrix; no CIFAR model, so the CIFAR checks fail
# expect: dense_model=fail dense_training=fail cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=fail cross_validation=fail learning_curves=pass error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers
from sklearn.model_selection import KFold
from sklearn.metrics import confusion_matrix, ConfusionMatrixDisplay

(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
x_train = x_train.reshape(-1, 28, 28, 1) / 255.0
x_test = x_test.reshape(-1, 28, 28, 1) / 255.0

# %%
def build_cnn():
    model = keras.Sequential([
        layers.Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(32, (3, 3), activation='relu'),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(32, activation='relu'),
        layers.Dense(10, activation='softmax'),
    ])
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return model

# %%
kf = KFold(n_splits=5, shuffle=True, random_state=0)
histories, scores = [], []
for fold, (tr, va) in enumerate(kf.split(x_train), 1):
    model = build_cnn()
    h = model.fit(x_train[tr], y_train[tr], epochs=3, batch_size=64,
                  validation_data=(x_train[va], y_train[va]), verbose=0)
    histories.append(h)
    scores.append(h.history['val_accuracy'][-1])
    print(f'fold {fold}: {scores[-1]:.4f}')
print('mean', np.mean(scores), 'std', np.std(scores))

# %%
for i, h in enumerate(histories, 1):
    plt.plot(h.history['loss'], label=f'fold{i} train')
    plt.plot(h.history['val_loss'], '--', label=f'fold{i} val')
plt.xlabel('epoch'); plt.ylabel('loss'); plt.legend(ncol=2)
plt.show()

# %%
pred = model.predict(x_test).argmax(axis=1)
ConfusionMatrixDisplay(confusion_matrix(y_test, pred)).plot()
plt.show()
