# free-corpus: Part C only; train and test splits are concatenated ("more data") and the 5-fold CV runs over all 60,000 rows, so test-split images are used for training; model, curves and misclassified grid are fine
# expect: dense_model=fail dense_training=fail cnn_model=fail cnn_training=fail cnn_test_accuracy=fail cifar_model=pass cross_validation=fail learning_curves=pass error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
import tensorflow as tf
from tensorflow.keras import layers, models
from sklearn.model_selection import KFold

(train_images, train_labels), (test_images, test_labels) = tf.keras.datasets.cifar10.load_data()
class_names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

# %%
# CV で評価するので train と test を合わせて全部使う
inputs = np.concatenate((train_images, test_images), axis=0) / 255.0
targets = np.concatenate((train_labels, test_labels), axis=0).ravel()
print(inputs.shape, targets.shape)

# %%
def build_model():
    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation='relu'))
    model.add(layers.Dense(10, activation='softmax'))
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return model

# %%
kfold = KFold(n_splits=5, shuffle=True, random_state=42)
acc_per_fold, histories = [], []
fold_no = 1
for train, val in kfold.split(inputs, targets):
    model = build_model()
    history = model.fit(inputs[train], targets[train], batch_size=128, epochs=5,
                        validation_data=(inputs[val], targets[val]), verbose=0)
    histories.append(history)
    scores = model.evaluate(inputs[val], targets[val], verbose=0)
    print(f'Score for fold {fold_no}: accuracy {scores[1] * 100:.2f}%')
    acc_per_fold.append(scores[1])
    fold_no += 1
print('Average accuracy:', np.mean(acc_per_fold))

# %%
for i, history in enumerate(histories):
    plt.plot(history.history['loss'], color='tab:blue', alpha=0.6, label='train loss' if i == 0 else None)
    plt.plot(history.history['val_loss'], color='tab:orange', alpha=0.6, label='val loss' if i == 0 else None)
plt.xlabel('epoch')
plt.ylabel('loss')
plt.legend()
plt.show()

# %%
val_pred = model.predict(inputs[val]).argmax(axis=1)
wrong = np.where(val_pred != targets[val])[0][:10]
plt.figure(figsize=(10, 4))
for n, i in enumerate(wrong):
    plt.subplot(2, 5, n + 1)
    plt.imshow(inputs[val][i])
    plt.title(f'P:{class_names[val_pred[i]]} T:{class_names[targets[val][i]]}', fontsize=7)
    plt.axis('off')
plt.show()
