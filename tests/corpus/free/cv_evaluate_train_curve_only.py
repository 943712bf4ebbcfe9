# free-corpus: Part C only; the 5-fold CV scores each fold with model.evaluate on the held-out fold (no validation_data, which is allowed), but the learning-curve figure shows only the training loss, and the misclassified images are titled with the predicted class only
# expect: dense_model=fail dense_training=fail cnn_model=fail cnn_training=fail cnn_test_accuracy=fail cifar_model=pass cross_validation=pass learning_curves=fail error_analysis=fail

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers
from sklearn.model_selection import KFold

(x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
x_train = x_train.astype('float32') / 255
x_test = x_test.astype('float32') / 255
y_train = y_train.flatten()
y_test = y_test.flatten()
class_names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

# %%
def build_model():
    model = keras.Sequential([
        keras.Input(shape=(32, 32, 3)),
        layers.Conv2D(32, (3, 3), activation='relu'),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation='relu'),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(64, activation='relu'),
        layers.Dense(10, activation='softmax'),
    ])
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return model

# %%
k = 5
kf = KFold(n_splits=k, shuffle=True, random_state=2024)
x_cv, y_cv = x_train[:10000], y_train[:10000]
train_losses = []
fold_scores = []
for i, (train_index, test_index) in enumerate(kf.split(x_cv)):
    model = build_model()
    h = model.fit(x_cv[train_index], y_cv[train_index], epochs=10, batch_size=64, verbose=0)
    loss, acc = model.evaluate(x_cv[test_index], y_cv[test_index], verbose=0)
    train_losses.append(h.history['loss'])
    fold_scores.append(acc)
    print(f'Fold {i + 1}: held-out accuracy = {acc:.4f}')
print(f'{k}-fold accuracy: {np.mean(fold_scores):.4f} +/- {np.std(fold_scores):.4f}')

# %%
for i, tl in enumerate(train_losses):
    plt.plot(tl, label=f'fold {i + 1}')
plt.xlabel('epoch')
plt.ylabel('training loss')
plt.legend()
plt.show()

# %%
pred = model.predict(x_test).argmax(axis=1)
wrong = np.where(pred != y_test)[0]
plt.figure(figsize=(10, 4))
for n, i in enumerate(wrong[:10]):
    plt.subplot(2, 5, n + 1)
    plt.imshow(x_test[i])
    plt.title(class_names[pred[i]])
    plt.axis('off')
plt.suptitle('misclassified test images (title = prediction)')
plt.show()
