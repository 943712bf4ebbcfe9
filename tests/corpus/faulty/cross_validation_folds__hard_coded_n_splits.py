# defect: cross_validate ignores its n_splits argument and always makes 3 folds (the number the grader once always used)
# also-fails: cross_validation_fresh_model, cross_validation_summary
def cross_validate(images, labels, build_fn=build_cifar_model, n_splits=5, epochs=10, batch_size=64, seed=0):
    x = np.asarray(images)
    y = np.asarray(labels).reshape(-1)
    kfold = KFold(n_splits=3, shuffle=True, random_state=seed)
    histories, val_accuracy, val_loss = [], [], []
    for train_idx, val_idx in kfold.split(x):
        model = build_fn()
        history = model.fit(x[train_idx], y[train_idx], epochs=epochs, batch_size=batch_size,
                            validation_data=(x[val_idx], y[val_idx]), verbose=0)
        h = {key: [float(v) for v in values] for key, values in history.history.items()}
        histories.append(h)
        val_accuracy.append(h['val_accuracy'][-1])
        val_loss.append(h['val_loss'][-1])
    return {
        'histories': histories,
        'val_accuracy': val_accuracy,
        'val_loss': val_loss,
        'mean_accuracy': float(np.mean(val_accuracy)),
        'std_accuracy': float(np.std(val_accuracy)),
    }
