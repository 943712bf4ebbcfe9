# free-corpus: Part C only; KFold(n_splits=5) but the loop breaks after 3 folds to save time, so the validation folds cover only 3/5 of the rows used; model, curves and confusion matrix are fine
# expect: dense_model=fail dense_training=fail cnn_model=fail cnn_training=fail cnn_test_accuracy=fail cifar_model=pass cross_validation=fail learning_curves=pass error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
from sklearn.model_selection import KFold
from sklearn.metrics import confusion_matrix, ConfusionMatrixDisplay

(x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
x_train = x_train / 255.0
x_test = x_test / 255.0
y_train = y_train[:, 0]
y_test = y_test[:, 0]

# %%
def make_model():
    model = keras.Sequential()
    model.add(keras.layers.Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)))
    model.add(keras.layers.MaxPooling2D((2, 2)))
    model.add(keras.layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(keras.layers.MaxPooling2D((2, 2)))
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(128, activation='relu'))
    model.add(keras.layers.Dense(10, activation='softmax'))
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss='sparse_categorical_crossentropy',
                  metrics=['accuracy'])
    return model

# %%
MAX_FOLDS = 3   # Colab が遅いので 3 fold だけ回す
kf = KFold(n_splits=5, shuffle=True, random_state=0)
xs, ys = x_train[:10000], y_train[:10000]
all_hist = []
for fold, (tr, va) in enumerate(kf.split(xs)):
    if fold == MAX_FOLDS:
        break
    model = make_model()
    hist = model.fit(xs[tr], ys[tr], epochs=10, batch_size=64, validation_data=(xs[va], ys[va]), verbose=0)
    all_hist.append(hist.history)
    print(f'fold {fold + 1}: val_acc={hist.history["val_accuracy"][-1]:.4f}')
print('mean val_acc:', np.mean([h['val_accuracy'][-1] for h in all_hist]))

# %%
fig, ax = plt.subplots(1, 2, figsize=(10, 4))
for i, h in enumerate(all_hist):
    ax[0].plot(h['loss'], label=f'train {i + 1}')
    ax[0].plot(h['val_loss'], ':', label=f'val {i + 1}')
    ax[1].plot(h['accuracy'], label=f'train {i + 1}')
    ax[1].plot(h['val_accuracy'], ':', label=f'val {i + 1}')
for a, name in zip(ax, ['loss', 'accuracy']):
    a.set_xlabel('epoch'); a.set_ylabel(name); a.legend()
plt.show()

# %%
cm = confusion_matrix(y_test, model.predict(x_test).argmax(axis=1))
ConfusionMatrixDisplay(cm).plot()
plt.show()
