# defect: plot_misclassified shows the right images but writes the labels of all shown images into every title
def plot_misclassified(images, predicted, actual, indices, max_images=5):
    images = np.asarray(images)
    shown = [int(i) for i in np.asarray(indices).reshape(-1)[:max_images]]
    everything = ", ".join(f"{predicted[i]}/{actual[i]}" for i in shown)
    fig, axes = plt.subplots(1, max(len(shown), 1), squeeze=False)
    for ax, i in zip(axes[0], shown):
        ax.imshow(images[i], cmap=plt.cm.binary)
        ax.set_title(f"pred/true: {everything}")
        ax.axis('off')
    return fig
