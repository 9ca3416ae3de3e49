"""Why the conditional VAE's samples do not follow their label: a screen of
the suspects, two seeds each, against configs/cvae.py:mnist as it was
(latent 16, beta 1, label beside z at the decoder's input only, 3,000 steps
x 128, no EMA): a smaller latent, beta 2, KL warm-up, the label at every
decoder layer, fewer steps (the held-out ELBO is far above the training one)
and an EMA of the weights. Scored by genjax's MNIST classifier on 5,000
class-balanced samples (conditional accuracy, classifier-FID) and by the
held-out -log p(x | c) (ELBO and IWAE-100 bounds, nats).

  python -m experiments.study --study experiments/studies/cvae_screen.py
"""
from experiments.studies import common
from genjax.studies import Study

LIKELIHOOD = {"eval/nats": "lower", "eval/iwae_nats": "lower"}
BEFORE = {"vae.beta": 1.0, "vae.ema_decay": 0.0}  # configs/cvae.py:mnist before cvae.py


def get_study():
  return Study(
      base="configs/cvae.py:mnist",
      cells={
          "before": {},
          "latent8": {"model.latent_dim": 8},
          "latent4": {"model.latent_dim": 4},
          "beta2": {"vae.beta": 2.0},
          "warmup": {"vae.kl_warmup": 1000},
          "label_all": {"model.cond_layers": "all"},
          "steps1000": {"train.num_steps": 1000},
          "ema": {"vae.ema_decay": 0.999},
      },
      seeds=(0, 1),
      baseline="before",
      overrides={**common.quality(every=1000), "evals.heldout.every": 1000,
                 **BEFORE},
      metrics={"quality/conditional_accuracy": "higher", "quality/fid": "lower",
               **LIKELIHOOD},
      curves=("quality/conditional_accuracy", "eval/nats", "train/nats", "eval/kl"),
      needs=common.NEEDS)
