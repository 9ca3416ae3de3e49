"""A study's figures (matplotlib, no display): curves over training steps (mean
over seeds with a band from the lowest to the highest seed) and the final
metrics as bars with their 95% intervals and each seed as a dot."""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)
import numpy as np  # noqa: E402


def _axes(n: int, width: float = 4.2, height: float = 3.2):
  cols = min(n, 3)
  rows = math.ceil(n / cols)
  fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
  for ax in axes.flat[n:]:
    ax.set_visible(False)
  return fig, list(axes.flat[:n])


def curves(path: str, series: dict, cells, title: str = ""):
  """series[key][cell] = [(steps, values) per seed]: one panel per key."""
  keys = [k for k in series if any(series[k].get(c) for c in cells)]
  if not keys:
    return False
  fig, axes = _axes(len(keys))
  colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
  for ax, key in zip(axes, keys):
    for i, cell in enumerate(cells):
      runs = series[key].get(cell) or []
      if not runs:
        continue
      common = sorted(set.intersection(*(set(s) for s, _ in runs)))
      if not common:
        continue
      table = np.array([[dict(zip(s, v))[t] for t in common] for s, v in runs])
      color = colors[i % len(colors)]
      ax.plot(common, table.mean(0), color=color, label=f"{cell} (n={len(runs)})",
              marker="o" if len(common) < 12 else None, ms=3)
      if len(runs) > 1:
        ax.fill_between(common, table.min(0), table.max(0), color=color, alpha=0.2, lw=0)
    ax.set_title(key, fontsize=9)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
  axes[0].legend(fontsize=7)
  fig.suptitle(title + "mean over seeds, band from the lowest to the highest", fontsize=9)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return True


def bars(path: str, rows: dict, values: dict, cells, baseline: str, directions: dict,
         title: str = ""):
  """rows[metric][cell] = describe() output; values[cell][metric] = per-seed values."""
  metrics = [m for m in rows if any(rows[m].get(c, {}).get("n") for c in cells)]
  if not metrics:
    return False
  fig, axes = _axes(len(metrics), width=max(5.0, 0.9 * len(cells) + 1.5))
  for ax, metric in zip(axes, metrics):
    x = np.arange(len(cells))
    means = [rows[metric].get(c, {}).get("mean", np.nan) for c in cells]
    low = [m - rows[metric].get(c, {}).get("ci_low", np.nan) for m, c in zip(means, cells)]
    high = [rows[metric].get(c, {}).get("ci_high", np.nan) - m for m, c in zip(means, cells)]
    err = np.nan_to_num(np.array([low, high]), nan=0.0)
    ax.bar(x, means, yerr=err, capsize=4, color=["#9ecae1" if c != baseline else "#fdae6b"
                                                  for c in cells], edgecolor="k", lw=0.5)
    for i, c in enumerate(cells):
      seeds = values.get(c, {}).get(metric, [])
      ax.plot([i] * len(seeds), seeds, "k.", ms=4)
    ax.set_xticks(x, cells, rotation=30, ha="right", fontsize=8)
    ax.set_title(f"{metric} ({directions[metric]} is better)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
  fig.suptitle(title + f"mean, 95% interval, seeds as dots; orange: {baseline}", fontsize=9)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return True
