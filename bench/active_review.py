"""Which review order teaches the model fastest: a simulated reviewer on glass and hazelnut.

The reviewer's truth is each image's ground-truth mask (no mask: normal). A fixed, stratified part of
the images is held out; the rest is the pool the reviewer works through. Three orders are compared:
`score` (highest image score first, the gallery's default), `random`, and `informative` (the
application's most-informative-first score, app.review.informative_score: closeness to the median
score plus disagreement with the parent version). Every K reviews, Crane is retrained from the tiny
random-weight backbone on all reviews so far (as the window's Retrain does), the held-out pixel AUROC
is measured, and the pool is re-scored by the new version, whose parent is the previous one.

    python bench/active_review.py --rounds 4 --per-round 10 --png docs/active_review.png
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from zsad_desktop.app.review.informative_score import informativeness, most_informative_first
from zsad_desktop.detection.backbone import BackboneSpec
from zsad_desktop.detection.interface import create_detector
from zsad_desktop.detection.saved_model import load_saved_model
from zsad_desktop.detection.training import train_method
from zsad_desktop.detection.training_data import TrainingSample
from zsad_desktop.evaluation import evaluate, load_mask

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SOURCES = (("glass", DATA / "glass_anomaly" / "glass"), ("hazelnut", DATA / "mvtec_ad" / "hazelnut"))
ORDERS = ("score", "random", "informative")


def samples() -> list[TrainingSample]:
    out = []
    for category, root in SOURCES:
        for image in sorted(root.glob("test/*/*.png")) + sorted(root.glob("train/good/*.png")):
            defect = image.parent.name
            mask = root / "ground_truth" / defect / f"{image.stem}_mask.png"
            anomalous = defect != "good" and mask.is_file()
            out.append(TrainingSample(image, mask if anomalous else None, int(anomalous), category))
    return out


def held_out_split(items: list[TrainingSample], share: float, seed: int) -> tuple[list[int], list[int]]:
    rng = random.Random(seed)
    held: list[int] = []
    for key in sorted({(s.category, s.label) for s in items}):
        group = [i for i, s in enumerate(items) if (s.category, s.label) == key]
        rng.shuffle(group)
        held += group[: max(1, round(share * len(group)))]
    return [i for i in range(len(items)) if i not in set(held)], sorted(held)


class Simulation:
    def __init__(self, items, images, pool, test, spec, epochs, work):
        self.items, self.images, self.pool, self.test, self.spec, self.epochs, self.work = (
            items,
            images,
            pool,
            test,
            spec,
            epochs,
            work,
        )
        self.test_masks = [load_mask(items[i], images[i].shape[:2]) for i in test]

    def pixel_auroc(self, detector) -> float:
        detections = detector.predict([self.images[i] for i in self.test])
        labels = [self.items[i].label for i in self.test]
        return evaluate(
            labels, [d.score for d in detections], self.test_masks, [d.heatmap for d in detections]
        ).pixel_auroc

    def pool_scores(self, detector, left: list[int]) -> dict[int, float]:
        return {i: d.score for i, d in zip(left, detector.predict([self.images[i] for i in left]))}

    def run(self, order: str, untrained, rounds: int, per_round: int, seed: int) -> list[tuple[int, float]]:
        rng = random.Random(seed)
        left, reviewed = list(self.pool), []
        scores, parent = self.pool_scores(untrained, left), None
        curve = [(0, self.pixel_auroc(untrained))]
        for round_ in range(rounds):
            if order == "random":
                picks = rng.sample(left, min(per_round, len(left)))
            elif order == "score":
                picks = sorted(left, key=lambda i: (-scores[i], i))[:per_round]
            else:
                picks = most_informative_first(informativeness({i: scores[i] for i in left}, parent))[
                    :per_round
                ]
            reviewed += picks
            left = [i for i in left if i not in set(picks)]
            result = train_method(
                "crane",
                backbone_spec=self.spec,
                train_samples=[self.items[i] for i in reviewed],
                out_dir=self.work / f"{order}-{round_}",
                config={"epochs": self.epochs},
                device="cpu",
            )
            detector = load_saved_model(result.model_dir, device="cpu")
            curve.append((len(reviewed), self.pixel_auroc(detector)))
            print(
                f"  {order:<11} {len(reviewed):>3} reviews ({sum(self.items[i].label for i in reviewed)} anomalous): "
                f"held-out pixel AUROC {curve[-1][1]:.3f}",
                flush=True,
            )
            if left and round_ + 1 < rounds:
                parent, scores = {i: scores[i] for i in left}, self.pool_scores(detector, left)
        return curve


def first_reaching(curve: list[tuple[int, float]], target: float) -> int | None:
    return next((n for n, auroc in curve if auroc >= target), None)


def stays_above(curve: list[tuple[int, float]], target: float) -> int | None:
    """The fewest reviews from which every later measurement is at or above `target` (a noisy curve may cross it early)."""
    reached = None
    for n, auroc in curve:
        reached = (reached if reached is not None else n) if auroc >= target else None
    return reached


def plot(curves: dict[str, list[tuple[int, float]]], target: float, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4), dpi=100)
    axes = figure.add_subplot()
    for order, curve in curves.items():
        axes.plot(*zip(*curve), marker="o", label=order)
    axes.axhline(target, linestyle="--", color="grey", label="untrained + 0.05")
    axes.set_xlabel("reviews")
    axes.set_ylabel("held-out pixel AUROC")
    axes.set_title("Crane retrained every round, tiny random-weight backbone")
    axes.legend()
    figure.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--per-round", type=int, default=10, help="K: reviews between retrainings")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--model-name", default="ZSAD-Tiny-ViT-14-Text768")
    parser.add_argument("--image-size", type=int, default=112)
    parser.add_argument("--held-out", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--orders", nargs="+", default=list(ORDERS), choices=ORDERS)
    parser.add_argument("--png", type=Path, default=Path("docs/active_review.png"))
    args = parser.parse_args()
    items = samples()
    pool, test = held_out_split(items, args.held_out, args.seed)
    images = [s.read_rgb8() for s in items]
    spec = BackboneSpec(args.model_name, "random", args.image_size)
    untrained = create_detector(
        "baseline", model_name=spec.model_name, pretrained="random", image_size=spec.image_size, device="cpu"
    )
    work = Path(tempfile.mkdtemp(prefix="zsad-active-"))
    print(
        f"{len(pool)} pool images ({sum(items[i].label for i in pool)} anomalous), {len(test)} held out; "
        f"retrain Crane ({args.epochs} epoch) every {args.per_round} reviews, {args.rounds} rounds",
        flush=True,
    )
    start = time.perf_counter()
    simulation = Simulation(items, images, pool, test, spec, args.epochs, work)
    curves = {
        order: simulation.run(order, untrained, args.rounds, args.per_round, args.seed)
        for order in args.orders
    }
    target = curves[args.orders[0]][0][1] + 0.05
    print(
        f"\nheld-out pixel AUROC by reviews (untrained {target - 0.05:.3f}, target {target:.3f}); {time.perf_counter() - start:.0f} s"
    )
    print("reviews  " + "  ".join(f"{o:>11}" for o in curves))
    for row in range(args.rounds + 1):
        print(
            f"{curves[args.orders[0]][row][0]:>7}  "
            + "  ".join(f"{curves[o][row][1]:>11.3f}" for o in curves)
        )
    for order, curve in curves.items():
        reached = first_reaching(curve, target)
        kept = stays_above(curve, target)
        print(
            f"{order}: reaches the target after {reached if reached is not None else 'more than ' + str(curve[-1][0])} reviews, "
            f"stays above it from {kept if kept is not None else 'never'}; mean AUROC after training "
            f"{np.mean([a for _, a in curve[1:]]):.3f}"
        )
    plot(curves, target, args.png)
    print(f"plot: {args.png}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
