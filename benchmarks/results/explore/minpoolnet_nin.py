import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"
import numpy as np, keras
import hier_keras as hk
from hier_keras.models.minpoolnet import MinPoolNet
d = hk.data.load_arrays("fashion_mnist", source="bundled")
tree = hk.Hierarchy.fashion_mnist()
x, y = d["x_train"], d["y_train"]
preset, steps, per, ff, cf = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
seeds = [int(s) for s in sys.argv[6].split(",")]
for seed in seeds:
    rng = np.random.default_rng(seed)
    idx = np.concatenate([rng.permutation(np.flatnonzero(y[:, -1] == c))[:per] for c in range(10)])
    labels, is_fine, keep = hk.data.partial_labels(y[idx], tree, ff, cf, seed=seed)
    labels = labels.copy(); labels[~is_fine] = y[idx][~is_fine]; labels[~is_fine, -1] = -1
    xs, ys, labels, is_fine = x[idx][keep], y[idx][keep], labels[keep], is_fine[keep]
    res = {}
    for name, lam in (("baseline", 0.0), ("minpool", 1.0)):
        keras.utils.set_random_seed(seed)
        m = MinPoolNet.from_preset(preset, coarse_loss_weight=lam, loss_reduction="labelled")
        if name == "baseline":
            ds = hk.data.from_arrays(xs[is_fine], ys[is_fine], tree, batch_size=64, shuffle=True, seed=seed).repeat()
        else:
            ds = hk.data.ratio_batches(xs, labels, is_fine, batch_size=64, seed=seed)
        m.compile(total_steps=steps)
        m.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
        p = m.predict(d["x_test"], verbose=0, batch_size=500)
        res[name] = round(float(np.mean(p["fine"].argmax(-1) == d["y_test"][:, -1])), 4)
    print(sys.argv[1:6], seed, res, flush=True)
