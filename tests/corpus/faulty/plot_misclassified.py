# defect: plot_misclassified shows the images but never titles them with the predicted and actual labels
def plot_misclassified(images, predicted, actual, indices, max_images=5):
    images = np.asarray(images)
    shown = [int(i) for i in np.asarray(indices).reshape(-1)[:max_images]]
    fig = plt.figure(figsize=(2.6 * max(len(shown), 1), 2.9))
    for k, i in enumerate(shown, start=1):
        ax = fig.add_subplot(1, max(len(shown), 1), k)
        image = images[i]
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        ax.imshow(image, cmap=plt.cm.binary)
        ax.axis('off')
    return fig
