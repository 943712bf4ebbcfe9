# defect: train_model hard-codes epochs=5 in model.fit instead of passing its epochs argument on
def train_model(model, x, y, epochs=5, batch_size=32, validation_split=0.0):
    history = model.fit(x, y, epochs=5, batch_size=batch_size, validation_split=validation_split)
    return history
