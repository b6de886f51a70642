import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"
import numpy as np, keras
import hier_keras as hk
from hier_keras.models.minpoolnet import MinPoolNet
d = hk.data.load_arrays("fashion_mnist", source="bundled")
tree = hk.Hierarchy.fashion_mnist()
x, y = d["x_train"], d["y_train"]
red = sys.argv[1]; per = int(sys.argv[2]); E = int(sys.argv[3]); lam = float(sys.argv[4])
for seed in (0, 1):
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.permutation(np.flatnonzero(y[:, -1] == c))[:per] for c in range(10)])
    labels, is_fine, keep = hk.data.partial_labels(y[idx], tree, 0.5, 0.5, seed=seed)
    labels = labels.copy(); labels[~is_fine] = y[idx][~is_fine]; labels[~is_fine, -1] = -1
    xs = x[idx]; nfine = int(is_fine.sum())
    res = {}
    for name, epochs in (("baseline", E), ("baseline2x", 2 * E), ("minpool", E)):
        keras.utils.set_random_seed(seed)
        m = MinPoolNet.from_preset("small_fashion_mnist", coarse_loss_weight=0.0 if name.startswith("baseline") else lam, loss_reduction=red)
        if name.startswith("baseline"):
            steps = epochs * nfine // 64
            ds = hk.data.from_arrays(xs[is_fine], y[idx][is_fine], tree, batch_size=64, shuffle=True, seed=seed).repeat()
        else:
            steps = epochs * len(xs) // 64
            ds = hk.data.ratio_batches(xs, labels, is_fine, batch_size=64, seed=seed)
        m.compile(total_steps=steps)
        m.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
        acc = float(np.mean(m.predict(d["x_test"], verbose=0, batch_size=500)["fine"].argmax(-1) == d["y_test"][:, -1]))
        res[name] = round(acc, 4)
    print(red, per, E, lam, seed, res, flush=True)
