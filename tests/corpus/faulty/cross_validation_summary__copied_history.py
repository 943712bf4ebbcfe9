# defect: cross_validate trains every fold but puts the first fold's history into the summary n_splits times
def cross_validate(images, labels, build_fn=build_cifar_model, n_splits=5, epochs=10, batch_size=64, seed=0):
    x = np.asarray(images)
    y = np.asarray(labels).reshape(-1)
    kfold = KFold(n_splits=n_splits, shuffle=True, random_state=seed)
    first = None
    for train_idx, val_idx in kfold.split(x):
        model = build_fn()
        history = model.fit(x[train_idx], y[train_idx], epochs=epochs, batch_size=batch_size,
                            validation_data=(x[val_idx], y[val_idx]), verbose=0)
        if first is None:
            first = {key: [float(v) for v in values] for key, values in history.history.items()}
    histories = [dict(first) for _ in range(n_splits)]
    val_accuracy = [h['val_accuracy'][-1] for h in histories]
    val_loss = [h['val_loss'][-1] for h in histories]
    return {
        'histories': histories,
        'val_accuracy': val_accuracy,
        'val_loss': val_loss,
        'mean_accuracy': float(np.mean(val_accuracy)),
        'std_accuracy': float(np.std(val_accuracy)),
    }
