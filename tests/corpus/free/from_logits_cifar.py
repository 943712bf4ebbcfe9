# free-corpus: Part C only; the CIFAR model ends in a linear Dense(10) with SparseCategoricalCrossentropy(from_logits=True) (no softmax output), while the 5-fold CV, learning curves and a seaborn-style heatmap of sklearn's confusion matrix are correct
# expect: dense_model=fail dense_training=fail cnn_model=fail cnn_training=fail cnn_test_accuracy=fail cifar_model=fail cross_validation=pass learning_curves=pass error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
import tensorflow as tf
from sklearn.model_selection import KFold
from sklearn.metrics import confusion_matrix

(train_images, train_labels), (test_images, test_labels) = tf.keras.datasets.cifar10.load_data()
train_images, test_images = train_images / 255.0, test_images / 255.0
train_labels = train_labels.squeeze()
test_labels = test_labels.squeeze()
class_names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

# %%
# Model in the style of the TensorFlow CNN tutorial: logits output + from_logits=True
def get_model():
    model = tf.keras.models.Sequential()
    model.add(tf.keras.layers.Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)))
    model.add(tf.keras.layers.MaxPooling2D((2, 2)))
    model.add(tf.keras.layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(tf.keras.layers.MaxPooling2D((2, 2)))
    model.add(tf.keras.layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(tf.keras.layers.Flatten())
    model.add(tf.keras.layers.Dense(64, activation='relu'))
    model.add(tf.keras.layers.Dense(10))
    model.compile(optimizer='adam',
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])
    return model

# %%
X, Y = train_images[:10000], train_labels[:10000]
kf = KFold(n_splits=5, shuffle=True, random_state=0)
hists, accs = [], []
for i, (tr, va) in enumerate(kf.split(X)):
    model = get_model()
    hist = model.fit(X[tr], Y[tr], epochs=10, batch_size=64,
                     validation_data=(X[va], Y[va]), verbose=0)
    hists.append(hist)
    accs.append(hist.history['val_accuracy'][-1])
    print('fold', i + 1, 'val acc', round(accs[-1], 4))
print('mean', np.mean(accs), 'std', np.std(accs))

# %%
h = hists[0].history
plt.plot(h['accuracy'], label='accuracy')
plt.plot(h['val_accuracy'], label='val_accuracy')
plt.xlabel('Epoch')
plt.ylabel('Accuracy')
plt.legend(loc='lower right')
plt.title('fold 1')
plt.show()

# %%
logits = model.predict(test_images)
pred = np.argmax(logits, axis=1)
cm = confusion_matrix(test_labels, pred)

fig, ax = plt.subplots(figsize=(7, 6))
im = ax.imshow(cm, cmap='Blues')
ax.set_xticks(range(10)); ax.set_xticklabels(class_names, rotation=90)
ax.set_yticks(range(10)); ax.set_yticklabels(class_names)
for r in range(10):
    for c in range(10):
        ax.text(c, r, cm[r, c], ha='center', va='center', fontsize=7)
ax.set_xlabel('predicted'); ax.set_ylabel('true')
fig.colorbar(im)
plt.show()
