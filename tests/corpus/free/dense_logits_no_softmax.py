# free-corpus: full homework in the TensorFlow-tutorial style; the Dense model ends in a linear Dense(10) trained with SparseCategoricalCrossentropy(from_logits=True) (no softmax output), otherwise everything is correct (its training on scaled images with integer labels counts)
# expect: dense_model=fail dense_training=pass cnn_model=pass cnn_training=pass cnn_test_accuracy=pass cifar_model=pass cross_validation=pass learning_curves=pass error_analysis=pass

# %%
import numpy as np
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0

# %%
model = tf.keras.models.Sequential([
    tf.keras.layers.Flatten(input_shape=(28, 28)),
    tf.keras.layers.Dense(128, activation='relu'),
    tf.keras.layers.Dropout(0.2),
    tf.keras.layers.Dense(10)
])
loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
model.compile(optimizer='adam', loss=loss_fn, metrics=['accuracy'])
model.fit(x_train, y_train, epochs=5)
model.evaluate(x_test, y_test, verbose=2)

# %%
probability_model = tf.keras.Sequential([model, tf.keras.layers.Softmax()])
print(probability_model(x_test[:3]).numpy().round(3))

# %%
x_train4 = x_train.reshape(-1, 28, 28, 1)
x_test4 = x_test.reshape(-1, 28, 28, 1)
cnn = tf.keras.models.Sequential()
cnn.add(tf.keras.layers.Conv2D(16, (3, 3), activation='relu', input_shape=(28, 28, 1)))
cnn.add(tf.keras.layers.MaxPooling2D((2, 2)))
cnn.add(tf.keras.layers.Conv2D(32, (3, 3), activation='relu'))
cnn.add(tf.keras.layers.MaxPooling2D((2, 2)))
cnn.add(tf.keras.layers.Flatten())
cnn.add(tf.keras.layers.Dense(32, activation='relu'))
cnn.add(tf.keras.layers.Dense(10, activation='softmax'))
cnn.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
cnn.fit(x_train4, y_train, epochs=5)
cnn.evaluate(x_test4, y_test, verbose=2)

# %% [markdown]
# ## CIFAR-10 homework (same tutorial style, softmax output this time so that predict gives probabilities)

# %%
from sklearn.model_selection import KFold
import matplotlib.pyplot as plt

(train_images, train_labels), (test_images, test_labels) = tf.keras.datasets.cifar10.load_data()
train_images, test_images = train_images / 255.0, test_images / 255.0
train_labels, test_labels = train_labels.ravel(), test_labels.ravel()
class_names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

def make_model():
    model = tf.keras.models.Sequential()
    model.add(tf.keras.layers.Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)))
    model.add(tf.keras.layers.MaxPooling2D((2, 2)))
    model.add(tf.keras.layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(tf.keras.layers.MaxPooling2D((2, 2)))
    model.add(tf.keras.layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(tf.keras.layers.Flatten())
    model.add(tf.keras.layers.Dense(64, activation='relu'))
    model.add(tf.keras.layers.Dense(10, activation='softmax'))
    model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    return model

# %%
images, labels = train_images[:10000], train_labels[:10000]
histories, scores = [], []
for fold, (train_ix, val_ix) in enumerate(KFold(n_splits=5, shuffle=True, random_state=5).split(images), 1):
    model = make_model()
    history = model.fit(images[train_ix], labels[train_ix], epochs=10,
                        validation_data=(images[val_ix], labels[val_ix]), verbose=0)
    histories.append(history)
    scores.append(model.evaluate(images[val_ix], labels[val_ix], verbose=0)[1])
    print(f'fold {fold}: {scores[-1]:.4f}')
print('mean accuracy', np.mean(scores), '+/-', np.std(scores))

# %%
plt.plot(histories[-1].history['accuracy'], label='accuracy')
plt.plot(histories[-1].history['val_accuracy'], label='val_accuracy')
plt.xlabel('Epoch')
plt.ylabel('Accuracy')
plt.legend(loc='lower right')
plt.show()

# %%
pred = np.argmax(model.predict(test_images), axis=1)
cm = tf.math.confusion_matrix(test_labels, pred).numpy()
plt.figure(figsize=(6, 6))
plt.imshow(cm, cmap='Blues')
plt.xticks(range(10), class_names, rotation=90)
plt.yticks(range(10), class_names)
plt.xlabel('predicted'); plt.ylabel('true')
plt.show()
