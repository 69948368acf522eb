"""Three species from three one-vs-rest networks: Iris on the 8 x 8 SKY130 lattice.

``designs/iris_8x8.yaml`` trains one network per species (``task.positive`` 0, 1, 2; the
same stratified split for all three, drawn with ``task.split_seed``). A flower goes to the
species whose network's output is nearest its own label (output / L0 largest); a second
rule uses the two outer species' networks only (setosa if its network says so, else
virginica if its network does, else versicolor: the middle species is the one neither
outer network claims). Printed: each network's accuracy on its one-vs-rest task, then each
rule's three-species accuracy on the training and the held-out flowers, and the confusion
matrix of the held-out ones.

    .venv/bin/python benchmarks/bench_iris.py [--spec designs/iris_8x8.yaml]
        [--placement 0=K 1=K 2=K]   (a species' pins drawn as sweep placement random:K)
        [--duration S] [--seed N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import yaml

from twinedge.learn.train import run_training
from twinedge.reports.metrics import accuracy
from twinedge.spec.loader import load_spec_text
from twinedge.spec.sweep import point_spec

DESIGNS = Path(__file__).resolve().parent.parent / "designs"
SPECIES = ("setosa", "versicolor", "virginica")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", type=Path, default=DESIGNS / "iris_8x8.yaml")
    ap.add_argument("--placement", nargs="*", default=[], help="SPECIES=K: pins random:K")
    ap.add_argument("--duration", type=float, default=None)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    raw = yaml.safe_load(args.spec.read_text())
    placement = {int(k): int(v) for k, v in (p.split("=") for p in args.placement)}
    train_scores, test_scores, train_cls, test_cls = [], [], [], []
    for c in range(3):
        point: dict = {"task.positive": c}
        if c in placement:
            point["pins"] = placement[c]
        if args.duration is not None:
            point["training.duration"] = args.duration
        if args.seed is not None:
            point["training.seed"] = args.seed
        text = yaml.safe_dump(point_spec(raw, point), sort_keys=False)  # pins keep their order
        spec = load_spec_text(text, str(args.spec), args.spec.parent)
        l0 = spec.design.task.l0
        t0 = time.perf_counter()
        res = run_training(spec)
        print(f"{SPECIES[c]:>10} vs rest: train {accuracy(res.outputs, res.labels, l0):.1%}, "
              f"held out {accuracy(res.test_outputs, res.test_labels, l0):.1%} "
              f"({time.perf_counter() - t0:.0f} s, pins "
              f"{'random:' + str(placement[c]) if c in placement else 'the spec'})")  # fmt: skip
        train_scores.append(res.outputs / l0)
        test_scores.append(res.test_outputs / l0)
        train_cls.append(res.labels == l0)
        test_cls.append(res.test_labels == l0)
    truth_train = np.argmax(np.array(train_cls), axis=0)
    truth_test = np.argmax(np.array(test_cls), axis=0)
    rules = {
        "nearest label (three networks)": (np.argmax(np.array(train_scores), axis=0),
                                           np.argmax(np.array(test_scores), axis=0)),
        "outer species first (two networks)": (_outer(train_scores), _outer(test_scores)),
    }  # fmt: skip
    for rule, (said_train, said_test) in rules.items():
        print(f"three species, {rule}: train {np.mean(said_train == truth_train):.1%} "
              f"({len(truth_train)} flowers), held out {np.mean(said_test == truth_test):.1%} "
              f"({len(truth_test)}); held out, rows true, columns said:")  # fmt: skip
        for c in range(3):
            counts = [int(np.sum((truth_test == c) & (said_test == k))) for k in range(3)]
            print(f"  {SPECIES[c]:>10}: " + " ".join(f"{n:3d}" for n in counts))


def _outer(scores: list[np.ndarray]) -> np.ndarray:
    """Setosa where its network says positive (nearer L0 than 0), else virginica where its
    network does, else versicolor."""
    return np.where(scores[0] > 0.5, 0, np.where(scores[2] > 0.5, 2, 1))


if __name__ == "__main__":
    main()
