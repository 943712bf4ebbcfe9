# free-corpus: Part C only; correct 5-fold CV and confusion matrix, but the "learning curves" put the training loss/accuracy of the final model (trained on all rows without validation) next to the validation curves of the CV folds, so no plotted train/validation pair comes from the same fit(s)
# expect: dense_model=fail dense_training=fail cnn_model=fail cnn_training=fail cnn_test_accuracy=fail cifar_model=pass cross_validation=pass learning_curves=fail error_analysis=pass

# %%
import numpy as np
import matplotlib.pyplot as plt
from tensorflow import keras
from tensorflow.keras import layers
from sklearn.model_selection import KFold
from sklearn.metrics import confusion_matrix, ConfusionMatrixDisplay

(x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
x_train = x_train.astype('float32') / 255.0
x_test = x_test.astype('float32') / 255.0
y_train = y_train.ravel()
y_test = y_test.ravel()
names = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']

def build():
    m = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(32, 3, activation='relu'),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation='relu'),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(64, activation='relu'),
        layers.Dense(10, activation='softmax'),
    ])
    m.compile('adam', 'sparse_categorical_crossentropy', metrics=['accuracy'])
    return m

# %%
X, Y = x_train[:10000], y_train[:10000]
cv_hist = []
for tr, va in KFold(5, shuffle=True, random_state=0).split(X):
    m = build()
    cv_hist.append(m.fit(X[tr], Y[tr], validation_data=(X[va], Y[va]), epochs=8, batch_size=64, verbose=0).history)
print('fold accuracies:', [round(h['val_accuracy'][-1], 4) for h in cv_hist])

# %%
# final model on all the CV rows
final = build()
final_hist = final.fit(X, Y, epochs=8, batch_size=64, verbose=0).history
print('test accuracy:', final.evaluate(x_test, y_test, verbose=0)[1])

# %%
mean_val_loss = np.mean([h['val_loss'] for h in cv_hist], axis=0)
mean_val_acc = np.mean([h['val_accuracy'] for h in cv_hist], axis=0)
fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
a.plot(final_hist['loss'], label='train (final model)')
a.plot(mean_val_loss, label='validation (CV mean)')
a.set_xlabel('epoch'); a.set_ylabel('loss'); a.legend()
b.plot(final_hist['accuracy'], label='train (final model)')
b.plot(mean_val_acc, label='validation (CV mean)')
b.set_xlabel('epoch'); b.set_ylabel('accuracy'); b.legend()
plt.show()

# %%
ConfusionMatrixDisplay.from_predictions(y_test, final.predict(x_test).argmax(1), display_labels=names,
                                        xticks_rotation=90)
plt.show()
