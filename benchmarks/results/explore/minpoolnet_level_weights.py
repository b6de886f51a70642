import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"
import numpy as np, keras
import hier_keras as hk
from hier_keras.models.minpoolnet import MinPoolNet
d = hk.data.load_arrays("fashion_mnist", source="bundled")
tree = hk.Hierarchy.fashion_mnist()
x, y = d["x_train"], d["y_train"]
steps = 300
for seed in (0, 1):
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.permutation(np.flatnonzero(y[:, -1] == c))[:600] for c in range(10)])
    labels, is_fine, keep = hk.data.partial_labels(y[idx], tree, 0.1 / 0.6, 0.5 / 0.6, seed=seed)
    labels = labels.copy(); labels[~is_fine] = y[idx][~is_fine]; labels[~is_fine, -1] = -1
    xs = x[idx]
    res = {}
    for name, lw in (("baseline", [0, 0, 1]), ("mp_110", [1, 1, 1]), ("mp_010", [0, 1, 1]), ("mp_0q", [0, 0.25, 1])):
        keras.utils.set_random_seed(seed)
        m = MinPoolNet.from_preset("small_fashion_mnist", level_weights=lw, loss_reduction="labelled")
        if name == "baseline":
            ds = hk.data.from_arrays(xs[is_fine], y[idx][is_fine], tree, batch_size=64, shuffle=True, seed=seed).repeat()
        else:
            ds = hk.data.ratio_batches(xs, labels, is_fine, batch_size=64, seed=seed)
        m.compile(total_steps=steps)
        m.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
        p = m.predict(d["x_test"], verbose=0, batch_size=500)
        res[name] = (round(float(np.mean(p["fine"].argmax(-1) == d["y_test"][:, -1])), 4), round(float(np.mean(p["medium"].argmax(-1) == d["y_test"][:, 1])), 4))
    print(seed, res, flush=True)
