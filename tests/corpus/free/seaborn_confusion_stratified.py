# free-corpus: Part C only; StratifiedKFold(5) with BatchNormalization + Dropout, fold-mean curves, sklearn confusion_matrix drawn as a seaborn heatmap (seaborn is imported in its own cell: where it is not installed that cell fails, the confusion matrix was already computed); all correct
# expect: dense_model=fail dense_training=fail cnn_model=fail cnn_training=fail cnn_test_accuracy=fail cifar_model=pass cross_validation=pass learning_curves=pass error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers
from sklearn.model_selection import StratifiedKFold
from sklearn.metrics import confusion_matrix, classification_report

SEED = 0
keras.utils.set_random_seed(SEED)

# %%
(x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
x_train = x_train.astype(np.float32) / 255.0
x_test = x_test.astype(np.float32) / 255.0
y_train = y_train.squeeze().astype(int)
y_test = y_test.squeeze().astype(int)
CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

# use a stratified subset so that CV finishes on a laptop
idx = np.random.RandomState(SEED).permutation(len(x_train))[:8000]
x_cv, y_cv = x_train[idx], y_train[idx]

# %%
def build_model(dropout=0.3):
    model = keras.Sequential([
        keras.Input(shape=(32, 32, 3)),
        layers.Conv2D(32, 3, padding='same', use_bias=False),
        layers.BatchNormalization(),
        layers.Activation('relu'),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding='same', use_bias=False),
        layers.BatchNormalization(),
        layers.Activation('relu'),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dropout(dropout),
        layers.Dense(128, activation='relu'),
        layers.Dense(10, activation='softmax'),
    ])
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return model

# %%
skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)
fold_histories, fold_scores = [], []
for fold, (tr, va) in enumerate(skf.split(x_cv, y_cv), start=1):
    keras.backend.clear_session()
    model = build_model()
    hist = model.fit(x_cv[tr], y_cv[tr], validation_data=(x_cv[va], y_cv[va]),
                     epochs=10, batch_size=128, verbose=0)
    fold_histories.append(hist.history)
    fold_scores.append(max(hist.history['val_accuracy']))
    print(f'[fold {fold}] best val_accuracy = {fold_scores[-1]:.4f}')
print(f'CV: {np.mean(fold_scores):.4f} ± {np.std(fold_scores):.4f}')

# %%
def mean_curve(key):
    return np.mean([h[key] for h in fold_histories], axis=0)

fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for ax, key in zip(axes, ['loss', 'accuracy']):
    ax.plot(mean_curve(key), marker='o', label=f'train {key}')
    ax.plot(mean_curve('val_' + key), marker='o', label=f'validation {key}')
    ax.set_xlabel('epoch')
    ax.set_ylabel(key)
    ax.legend()
fig.suptitle('StratifiedKFold(5): mean over folds')
plt.show()

# %%
y_pred = model.predict(x_test, verbose=0).argmax(axis=1)
cm = confusion_matrix(y_test, y_pred)
print(classification_report(y_test, y_pred, target_names=CLASS_NAMES))

# %%
import seaborn as sns

plt.figure(figsize=(9, 7))
sns.heatmap(cm, annot=True, fmt='d', cmap='Blues', xticklabels=CLASS_NAMES, yticklabels=CLASS_NAMES)
plt.xlabel('predicted')
plt.ylabel('true')
plt.show()

# %% [markdown]
# The largest off-diagonal cells are cat↔dog and automobile↔truck.
