# defect: build_dense_model compiles with Adam(learning_rate=0.0), so training never changes the weights
def build_dense_model():
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        layers.Dense(128, activation='relu'),
        layers.Dense(64, activation='relu'),
        layers.Dense(10, activation='softmax'),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.0),
                  loss='categorical_crossentropy', metrics=['accuracy'])
    return model
