# defect: train_model passes epochs and validation_split on but always trains with batch_size=16
def train_model(model, x, y, epochs=5, batch_size=32, validation_split=0.0):
    return model.fit(x, y, epochs=epochs, batch_size=16, validation_split=validation_split)
