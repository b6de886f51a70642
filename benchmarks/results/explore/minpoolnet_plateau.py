# Usage: python minpoolnet_plateau.py METHODS EPOCHS SEEDS [REDUCTION] [FINE_FRACTION]
# Bundled subset (10,000 train / 2,000 test), preset widths; each method trained E epochs of its
# own training set (cosine to 0); the fine-only baseline on S_fine, MinPoolNet on S_fine + S_coarse.
import os, sys, time, json
os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1); tf.config.threading.set_inter_op_parallelism_threads(1)
import numpy as np, keras
import hier_keras as hk
from hier_keras.models.minpoolnet import MinPoolNet
d = hk.data.load_arrays("fashion_mnist", source="bundled")
tree = hk.Hierarchy.fashion_mnist()
x, y = d["x_train"], d["y_train"]
methods = sys.argv[1].split(","); Es = [int(e) for e in sys.argv[2].split(",")]; seeds=[int(s) for s in sys.argv[3].split(",")]
red = sys.argv[4] if len(sys.argv) > 4 else "labelled"
ff = float(sys.argv[5]) if len(sys.argv) > 5 else 0.5
B = 128
for seed in seeds:
    labels, is_fine, keep = hk.data.partial_labels(y, tree, ff, 1 - ff, seed=seed)
    labels = labels.copy(); labels[~is_fine] = y[~is_fine]; labels[~is_fine, -1] = -1
    for E in Es:
        for name in methods:
            keras.utils.set_random_seed(seed)
            m = MinPoolNet.from_preset("small_fashion_mnist", coarse_loss_weight=0.0 if name == "baseline" else 1.0, loss_reduction=red)
            if name == "baseline":
                n = int(is_fine.sum()); ds = hk.data.from_arrays(x[is_fine], y[is_fine], tree, batch_size=B, shuffle=True, seed=seed).repeat()
            elif name == "oracle":
                n = len(x); ds = hk.data.from_arrays(x, y, tree, batch_size=B, shuffle=True, seed=seed).repeat()
            else:
                n = len(x); ds = hk.data.ratio_batches(x, labels, is_fine, batch_size=B, seed=seed)
            steps = E * n // B
            m.compile(total_steps=steps)
            t = time.time()
            m.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
            p = m.predict(d["x_test"], verbose=0, batch_size=500)
            acc = float(np.mean(p["fine"].argmax(-1) == d["y_test"][:, -1]))
            print(json.dumps(dict(method=name, E=E, seed=seed, red=red, ff=ff, steps=steps, fine=round(acc, 4), s=round(time.time()-t))), flush=True)
