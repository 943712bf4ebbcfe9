# defect: plot_learning_curves draws only the training loss and accuracy, no validation curves
def plot_learning_curves(histories):
    if isinstance(histories, dict):
        histories = [histories]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(12, 4.5))
    for fold, h in enumerate(histories, start=1):
        epochs = np.arange(1, len(h['loss']) + 1)
        ax_loss.plot(epochs, h['loss'], label=f'fold {fold} train')
        ax_acc.plot(epochs, h['accuracy'], label=f'fold {fold} train')
    ax_loss.set_xlabel('Epoch')
    ax_loss.set_ylabel('Loss')
    ax_loss.legend()
    ax_acc.set_xlabel('Epoch')
    ax_acc.set_ylabel('Accuracy')
    ax_acc.legend()
    return fig
