"""A study's results: summary.md (tables and findings in words), summary.csv
(one row per cell and metric), results.csv (one row per cell, seed and
metric), summary.json (everything, for the run report), curves.png and
bars.png, and each cell's hyperparameters and final metrics in TensorBoard's
HParams dashboard (<cell>/seed<k>/tensorboard/hparams)."""
import csv
import json
import math
import os
import shutil
import time

from genjax import config_lib, errors, logging, report_html
from genjax.studies.cells import read_metrics, read_result
from genjax.studies.spec import Study

# scipy.stats and matplotlib (studies.stats, studies.plots) take seconds to
# import; they are imported where a summary is made, so that a cell's worker
# process (spawned, it imports genjax.studies) does not pay for them.

STATE_FILE = "study.json"  # the expanded study and the sessions that ran it


def cell_dir(root: str, cell: str, seed: int) -> str:
  return os.path.join(root, cell, f"seed{seed}")


def _num(v, digits: int = 4) -> str:
  if v is None or (isinstance(v, float) and math.isnan(v)):
    return "-"
  return f"{v:.{digits}g}"


def _p(v) -> str:
  if v is None or math.isnan(v):
    return "-"
  return f"{v:.2g}" if v >= 1e-4 else "<1e-4"


def _overrides(study: Study, cell: str) -> str:
  c = study.cells[cell]
  parts = ([f"config {c.config}"] if c.config else []) + [
      f"{k}={v}" for k, v in c.overrides.items()]
  return ", ".join(parts) or "(base)"


def collect(study: Study, root: str):
  """(per-seed results, values[cell][metric] = [per seed], curve series)."""
  results, values = {}, {}
  series = {k: {} for k in study.curves}
  for cell in study.cells:
    values[cell] = {m: [] for m in study.metrics}
    for seed in study.seeds:
      wd = cell_dir(root, cell, seed)
      r = read_result(wd)
      results[(cell, seed)] = r
      if r.get("status") == "done":
        for m in study.metrics:
          if m in r.get("metrics", {}):
            values[cell][m].append(r["metrics"][m])
      rows = read_metrics(wd) if study.curves else []
      for key in study.curves:
        pts = [(row["step"], row[key]) for row in rows if key in row]
        if pts:
          steps, vals = zip(*pts)
          series[key].setdefault(cell, []).append((list(steps), list(vals)))
  return results, values, series


def analyse(study: Study, values: dict) -> dict:
  """rows[metric][cell]: describe() + compare() with the baseline + BH p + verdict."""
  from genjax.studies import stats
  rows = {}
  for metric, direction in study.metrics.items():
    base = values[study.baseline][metric]
    rows[metric] = {c: stats.describe(values[c][metric]) for c in study.cells}
    others = [c for c in study.cells if c != study.baseline]
    comps = {c: stats.compare(values[c][metric], base) for c in others}
    for c, p_adj in zip(others, stats.adjust([comps[c]["p"] for c in others])):
      comps[c]["p_adj"] = p_adj
      comps[c]["verdict"] = stats.verdict(comps[c], direction, study.alpha)
      rows[metric][c].update(comps[c])
  return rows


def findings(study: Study, rows: dict) -> list:
  """One sentence per comparison, significant ones first."""
  sig, rest = [], []
  for metric, by_cell in rows.items():
    for cell, r in by_cell.items():
      if cell == study.baseline or "verdict" not in r:
        continue
      if r["verdict"] == "not tested":
        rest.append(f"{cell} vs {study.baseline} on {metric}: not tested (fewer than two "
                    "finished seeds on a side, or no spread at all).")
        continue
      change = "higher" if r["diff"] > 0 else "lower"
      text = (f"{cell} vs {study.baseline} on {metric}: {change} by {_num(abs(r['diff']))} "
              f"(95% CI of the difference {_num(r['diff_ci_low'])} to "
              f"{_num(r['diff_ci_high'])}; Welch p = {_p(r['p'])}, BH-adjusted "
              f"{_p(r['p_adj'])})")
      if r["verdict"] in ("better", "worse"):
        sig.append(f"**{text}: significantly {r['verdict']}.**")
      else:
        rest.append(f"{text}: no significant difference at alpha = {study.alpha}.")
  return sig + rest


def _hparams(study: Study, root: str, results: dict):
  """Each finished cell x seed as an HParams session in its own run folder."""
  keys = sorted({k for c in study.cells.values() for k in c.overrides})
  for (cell, seed), r in results.items():
    if r.get("status") != "done":
      continue
    logdir = os.path.join(cell_dir(root, cell, seed), "tensorboard")
    shutil.rmtree(os.path.join(logdir, "hparams"), ignore_errors=True)
    cfg = study.config(cell, seed)
    hp = {"cell": cell, "seed": seed}
    flat = config_lib.flatten(cfg)
    for k in keys:  # a key another cell overrides may be absent from this cell's config
      v = flat.get(k, "absent")
      hp[k] = v if isinstance(v, (int, float, str, bool)) else str(v)
    with logging.summary_writer(logdir) as w:
      w.add_hparams(hp, {f"final/{m}": float(v) for m, v in r.get("metrics", {}).items()},
                    name="hparams", global_step=r.get("steps"))
    for name in os.listdir(logdir):  # add_hparams's own writer leaves an empty event file
      path = os.path.join(logdir, name)
      if name.startswith("events.") and os.path.getsize(path) <= 100:
        os.remove(path)


def summarize(study: Study, root: str) -> dict:
  """Writes the study's summary files under `root`; returns summary.json's content."""
  from genjax.studies import plots
  results, values, series = collect(study, root)
  rows = analyse(study, values)
  with open(os.path.join(root, STATE_FILE)) as f:
    state = json.load(f)
  cells = list(study.cells)
  status = {c: [results[(c, s)].get("status", "not run") for s in study.seeds] for c in cells}
  elapsed = {c: [results[(c, s)].get("elapsed_s") for s in study.seeds
                 if results[(c, s)].get("status") == "done"] for c in cells}
  machines = sorted({json.dumps({k: v for k, v in r["machine"].items() if k != "pid"},
                                sort_keys=True) for r in results.values() if "machine" in r})
  wall = sum(s.get("wall_s", 0.0) for s in state.get("sessions", []))
  summary = {"study": study.name, "description": study.description, "base": study.base,
             "baseline": study.baseline, "seeds": list(study.seeds), "alpha": study.alpha,
             "metrics": study.metrics, "cells": {c: _overrides(study, c) for c in cells},
             "status": status, "elapsed_s": elapsed, "rows": rows,
             "values": values, "sessions": state.get("sessions", []),
             "machines": [json.loads(m) for m in machines], "wall_s": wall,
             "findings": findings(study, rows), "updated": time.strftime("%Y-%m-%d %H:%M")}
  figures = {
      "curves": plots.curves(os.path.join(root, "curves.png"), series, cells,
                             f"{study.name}: ") and "curves.png",
      "bars": plots.bars(os.path.join(root, "bars.png"), rows, values, cells, study.baseline,
                         study.metrics, f"{study.name}: ") and "bars.png"}
  summary["figures"] = {k: v for k, v in figures.items() if v}
  with open(os.path.join(root, "summary.json"), "w") as f:
    json.dump(summary, f, indent=2, allow_nan=True)
  _write_csv(study, root, rows, results)
  with open(os.path.join(root, "summary.md"), "w") as f:
    f.write(markdown(study, summary))
  _hparams(study, root, results)
  report_html.write(root)
  return summary


PUBLISHED = ("summary.md", "summary.csv", "results.csv", "curves.png", "bars.png")


def publish(root: str, dest: str) -> list:
  """Copies the study's summary files (tables, per-seed values, plots; not the
  workdirs) from `root` to `dest`, e.g. a folder committed with the code;
  returns the paths written."""
  missing = [n for n in PUBLISHED[:3] if not os.path.exists(os.path.join(root, n))]
  if missing:
    raise errors.MissingError(f"No summary to publish in {root} ({', '.join(missing)} "
                              "missing); run the study (or --summarize_only) first.")
  os.makedirs(dest, exist_ok=True)
  written = []
  for name in PUBLISHED:
    if os.path.exists(os.path.join(root, name)):
      shutil.copyfile(os.path.join(root, name), os.path.join(dest, name))
      written.append(os.path.join(dest, name))
  return written


def _write_csv(study: Study, root: str, rows: dict, results: dict):
  fields = ["cell", "metric", "n", "mean", "std", "ci_low", "ci_high", "diff", "diff_ci_low",
            "diff_ci_high", "t", "p", "p_adj", "verdict"]
  with open(os.path.join(root, "summary.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fields, extrasaction="ignore")
    w.writeheader()
    for metric, by_cell in rows.items():
      for cell, r in by_cell.items():
        w.writerow({"cell": cell, "metric": metric, **r})
  with open(os.path.join(root, "results.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["cell", "seed", "status", "elapsed_s", "metric", "value"])
    for (cell, seed), r in results.items():
      for metric in study.metrics:
        w.writerow([cell, seed, r.get("status", "not run"), _num(r.get("elapsed_s"), 6),
                    metric, r.get("metrics", {}).get(metric, "")])


def markdown(study: Study, s: dict) -> str:
  sessions = s["sessions"]
  lines = [f"# Study: {study.name}", ""]
  if study.description:
    lines += [study.description.split("\n\n")[0].replace("\n", " "), ""]
  if sessions:
    first, last = sessions[0], sessions[-1]
    lines.append(f"- Command: `{last['command']}`")
    lines.append(f"- Date: {first['start'][:16]} to {last.get('end', last['start'])[:16]} "
                 f"({len(sessions)} session{'s' * (len(sessions) > 1)}); wall time "
                 f"{s['wall_s'] / 60:.1f} min")
  for m in s["machines"]:
    lines.append(f"- Machine: {m['host']}: {m['cpu']}, {m['cpu_count']} cores, "
                 f"{m['devices']} {m['backend']} device(s) ({m['device_kind']})")
  lines += [f"- Base config `{study.base}`; seeds {', '.join(map(str, study.seeds))}; "
            f"baseline `{study.baseline}`. Each cell is compared with the baseline by "
            "Welch's t-test; p-values are adjusted for the number of comparisons per "
            f"metric (Benjamini-Hochberg); significant means adjusted p < {study.alpha}.",
            "", "## Cells", "", "| cell | overrides | seeds done | wall time per seed |",
            "| --- | --- | --- | --- |"]
  for c in study.cells:
    done = sum(st == "done" for st in s["status"][c])
    el = s["elapsed_s"][c]
    t = f"{sum(el) / len(el) / 60:.1f} min" if el else "-"
    lines.append(f"| {c} | {s['cells'][c]} | {done}/{len(study.seeds)} | {t} |")
  for metric, by_cell in s["rows"].items():
    lines += ["", f"## {metric} ({study.metrics[metric]} is better)", "",
              "| cell | n | mean +- std | 95% CI | vs baseline (95% CI) | p | p (BH) | verdict |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c, r in by_cell.items():
      vs = ("baseline" if c == study.baseline else "-" if math.isnan(r["diff"]) else
            f"{r['diff']:+.4g} ({_num(r['diff_ci_low'])} to {_num(r['diff_ci_high'])})")
      name = f"**{c}**" if r.get("verdict") in ("better", "worse") else c
      spread = f"{_num(r['mean'])} +- {_num(r['std'], 2)}" if r["n"] else "-"
      lines.append(f"| {name} | {r['n']} | {spread} | "
                   f"{_num(r['ci_low'])} to {_num(r['ci_high'])} | {vs} | "
                   f"{_p(r.get('p', math.nan))} | {_p(r.get('p_adj', math.nan))} | "
                   f"{r.get('verdict', '-')} |")
  lines += ["", "## Findings", ""] + [f"- {f}" for f in s["findings"]]
  failed = [f"{c}/seed{seed}" for c in study.cells for seed, st in zip(study.seeds, s["status"][c])
            if st != "done"]
  if failed:
    lines += ["", f"Not finished: {', '.join(failed)} (see each workdir's study_cell.json and "
              "log.txt; rerun the study to resume them)."]
  for name, path in s["figures"].items():
    lines += ["", f"![{name}]({path})"]
  return "\n".join(lines) + "\n"
