# defect: build_dense_model uses Dense(100) as the first hidden layer instead of Dense(128)
def build_dense_model():
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        layers.Dense(100, activation='relu'),
        layers.Dense(64, activation='relu'),
        layers.Dense(10, activation='softmax'),
    ])
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    return model
