# defect: most_confused_pairs does not leave out the diagonal, so correct predictions come first
def most_confused_pairs(cm, k=3):
    cm = np.asarray(cm)
    pairs = [(int(i), int(j), int(cm[i, j])) for i in range(cm.shape[0]) for j in range(cm.shape[1])]
    pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
    return pairs[:k]
