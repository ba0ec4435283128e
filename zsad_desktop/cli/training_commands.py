"""`zsad train`: train AA-CLIP adapters or Crane prompts on a benchmark dataset."""

from __future__ import annotations

import sys
from pathlib import Path

from zsad_desktop.cli.detector_options import add_detector_options


def add_commands(sub) -> None:
    train = sub.add_parser(
        "train", help="train a method on a dataset", description="Train AA-CLIP adapters or Crane prompts."
    )
    train.add_argument("--data", type=Path, required=True, help="dataset root")
    train.add_argument("--layout", choices=("mvtec", "visa", "btad", "folder"), default="mvtec")
    train.add_argument("--out", type=Path, required=True, help="model folder to write (model.json + weights)")
    train.add_argument("--epochs", type=int, help="epochs (default: the paper's)")
    train.add_argument(
        "--held-out", type=float, default=0.2, help="fraction kept aside for the final metrics"
    )
    add_detector_options(train)
    train.set_defaults(run=cmd_train, method="crane")


def cmd_train(args) -> int:
    from tqdm import tqdm

    from zsad_desktop.app.training.dataset_evaluation import evaluate_samples
    from zsad_desktop.detection.backbone import BackboneSpec
    from zsad_desktop.detection.saved_model import load_saved_model
    from zsad_desktop.detection.training import samples_from_dataset, split_samples, train_method

    samples = samples_from_dataset(args.data, args.layout)
    train, held_out = split_samples(samples, args.held_out)
    config = {
        k: v
        for k, v in {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "dinov2_checkpoint": args.dinov2_checkpoint,
        }.items()
        if v
    }
    bar = tqdm(desc=f"train {args.method}", unit="step", file=sys.stderr)

    def progress(p) -> None:
        bar.set_postfix_str(f"{p.stage} epoch {p.epoch}/{p.epochs} loss {p.loss:.4f} eta {p.eta_s:.0f}s")
        bar.update(1)
        if p.metrics:  # the epoch's last step: its mean loss and held-out metrics, one line per epoch
            shown = ", ".join(f"{k} {v:.4f}" for k, v in p.metrics.items() if isinstance(v, (int, float)))
            bar.write(f"{p.stage} epoch {p.epoch}/{p.epochs}: {shown}")

    spec = BackboneSpec(args.model_name, args.pretrained, args.image_size)
    result = train_method(
        args.method,
        backbone_spec=spec,
        train_samples=train,
        out_dir=args.out,
        config=config,
        device=args.device,
        progress=progress,
        val_samples=held_out,
        normalisation_samples=held_out or train,
    )
    bar.close()
    print(
        f"model written to {result.model_dir}; loss per epoch: "
        + ", ".join(f"{x:.4f}" for x in result.losses)
    )
    if held_out:
        metrics = evaluate_samples(load_saved_model(result.model_dir, device=args.device), held_out)
        print("held-out: " + ", ".join(f"{k} {v * 100:.1f}" for k, v in metrics.items()))
    return 0
