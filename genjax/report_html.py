"""One self-contained HTML page of a run or a study: everything inlined
(images and plots as data: URIs, styles in the page), nothing fetched, so it
opens from a file and can be sent to a colleague. genjax.report writes it;
the train loop refreshes workdir/report.html at the end of a run.

A run's page: its config (the keys that differ from the config file's variant
highlighted), the loss and metric curves, the sample grids over training,
the evaluation tables with their provenance, the nearest training images of
samples (memorisation), the data, and the history of starts, resumes and
changes; for image-to-image runs, inputs, baselines, outputs and targets. A
study's page: its summary tables, findings and plots, linking to its cells'
pages."""
import base64
import glob
import html
import io
import json
import math
import os
import re
import time

import numpy as np

import genjax
from genjax import config_lib, errors, images

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1180px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; border-bottom: 1px solid #ddd; padding-bottom: 4px;
margin-top: 28px; } table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } tr.changed td { background: #fff3c4; } .muted { color: #777; }
img { image-rendering: pixelated; max-width: 100%; border: 1px solid #ddd; }
img.plot { image-rendering: auto; } figure { display: inline-block; margin: 6px 10px 6px 0; }
figcaption { font-size: 12px; color: #555; } .better { color: #0a7a2f; font-weight: 600; }
.worse { color: #b3261e; font-weight: 600; } code { background: #f4f4f4; padding: 0 3px; }
details summary { cursor: pointer; }
"""


def _esc(v) -> str:
  return html.escape(str(v))


def _num(v) -> str:
  if isinstance(v, bool) or not isinstance(v, (int, float)):
    return _esc(v)
  if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
    return _esc(v)
  return f"{v:.4g}" if isinstance(v, float) else str(v)


def data_uri(path_or_bytes, mime: str = "image/png") -> str:
  raw = path_or_bytes if isinstance(path_or_bytes, bytes) else open(path_or_bytes, "rb").read()
  return f"data:{mime};base64,{base64.b64encode(raw).decode()}"


def _img(src, caption: str = "", cls: str = "", width: int = 0) -> str:
  w = f' width="{width}"' if width else ""
  c = f' class="{cls}"' if cls else ""
  cap = f"<figcaption>{_esc(caption)}</figcaption>" if caption else ""
  return f'<figure><img src="{data_uri(src)}"{c}{w} alt="{_esc(caption)}">{cap}</figure>'


def _table(header, rows, classes=None) -> str:
  head = "".join(f"<th>{_esc(h)}</th>" for h in header)
  body = []
  for i, row in enumerate(rows):
    cls = f' class="{classes[i]}"' if classes and classes[i] else ""
    body.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
  return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _read_jsonl(path: str):
  rows = []
  if os.path.exists(path):
    with open(path) as f:
      for line in f:
        try:
          rows.append(json.loads(line))
        except ValueError:  # a line cut by a crash
          continue
  return rows


def _plot_png(draw, panels: int, width: float = 3.6, height: float = 2.5) -> bytes:
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  cols = min(panels, 4)
  rows = math.ceil(panels / cols)
  # Fixed margins (inches) around each panel for its tick labels and title:
  # tight_layout measured them by drawing the figure once more (a third of
  # the report's time).
  left, right, top, bottom = 0.55, 0.15, 0.3, 0.3
  fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False,
                           gridspec_kw=dict(
                               left=left / (width * cols), right=1 - right / (width * cols),
                               bottom=bottom / (height * rows), top=1 - top / (height * rows),
                               wspace=(left + right) / (width - left - right),
                               hspace=(top + bottom) / (height - top - bottom)))
  for ax in axes.flat[panels:]:
    ax.set_visible(False)
  draw(list(axes.flat[:panels]))
  buf = io.BytesIO()
  fig.savefig(buf, format="png", dpi=90)
  plt.close(fig)
  return buf.getvalue()


def curves(rows, prefix: str):
  """A PNG of every numeric metric with `prefix` over steps, or None."""
  keys = sorted({k for r in rows for k, v in r.items() if k.startswith(prefix)
                 and isinstance(v, (int, float)) and not isinstance(v, bool)})
  keys = [k for k in keys if not k.endswith(("_std", "/count", "/num_samples",
                                             "/num_reference", "/k"))][:24]
  if len({r["step"] for r in rows if any(k in r for k in keys)}) < 2:
    return None  # one point: the evaluation tables show it

  def draw(axes):
    for ax, key in zip(axes, keys):
      pts = [(r["step"], r[key]) for r in rows if key in r]
      ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="." if len(pts) < 30 else None)
      ax.set_title(key, fontsize=9, y=1.0, pad=3)  # placed, not fitted around the ticks
      ax.tick_params(labelsize=7)
      ax.locator_params(nbins=4)
      ax.grid(alpha=0.3)
  return _plot_png(draw, len(keys))


def _config_section(workdir: str, config: dict, origin: dict) -> str:
  flat = config_lib.flatten(config)
  defaults, note = {}, "the config file of this run was not recorded"
  spec = origin.get("config", "")
  if spec:
    try:
      defaults = config_lib.flatten(config_lib.load(spec).to_dict())
      note = f"highlighted: keys that differ from <code>{_esc(spec)}</code>"
    except Exception as e:  # the file moved or changed since: show the config alone
      note = f"<code>{_esc(spec)}</code> could not be loaded ({_esc(type(e).__name__)})"
  rows, classes = [], []
  for k in sorted(flat):
    changed = bool(defaults) and defaults.get(k, "<absent>") != flat[k]
    default = f'<span class="muted">default {_esc(defaults.get(k, "absent"))}</span>' if changed else ""
    rows.append([f"<code>{_esc(k)}</code>", f"{_esc(flat[k])} {default}"])
    classes.append("changed" if changed else "")
  changed_rows = [r for r, c in zip(rows, classes) if c]
  parts = [f"<p class='muted'>{note}; {len(changed_rows)} of {len(rows)} keys changed.</p>"]
  if changed_rows:
    parts.append(_table(["key", "value"], changed_rows, ["changed"] * len(changed_rows)))
  parts.append(f"<details><summary>all {len(rows)} keys</summary>"
               f"{_table(['key', 'value'], rows, classes)}</details>")
  return "".join(parts)


def _samples_section(workdir: str, limit: int = 6) -> str:
  paths = sorted(glob.glob(os.path.join(workdir, "samples", "step_*.png")))
  if not paths:
    return "<p class='muted'>No sample grids.</p>"
  if len(paths) > limit:
    idx = np.unique(np.linspace(0, len(paths) - 1, limit).round().astype(int))
    paths = [paths[i] for i in idx]
  step = lambda p: int(re.findall(r"step_(\d+)", p)[0])
  return "".join(_img(p, f"step {step(p)}", width=260) for p in paths)


def _scalars(d: dict) -> list:
  return [(k, v) for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _eval_section(workdir: str) -> str:
  parts = []
  for path in sorted(glob.glob(os.path.join(workdir, "eval", "quality*_*.json")))[-3:]:
    r = json.load(open(path))
    prov = r.get("provenance", {})
    parts.append(f"<h3>{_esc(os.path.basename(path))}</h3>")
    parts.append(_table(["metric", "value"], [[_esc(k), _num(v)] for k, v in _scalars(r)]))
    if "per_class" in r:
      pc = r["per_class"]
      parts.append(_table(["class", "FID", "accuracy", "samples"],
                          [[_esc(c), _num(v.get("fid")), _num(v.get("accuracy", "-")),
                            _num(v.get("num_samples"))] for c, v in pc.items()]))
    parts.append("<details><summary>provenance</summary>" + _table(
        ["key", "value"], [[_esc(k), _esc(v)] for k, v in prov.items()]) + "</details>")
  latest = {}  # the last evaluation of each variant (split, x8): paired[_variant]_<step>
  for path in sorted(glob.glob(os.path.join(workdir, "eval", "paired_*.json"))):
    latest[os.path.basename(path).rsplit("_", 1)[0]] = path
  for path in latest.values():
    r = json.load(open(path))
    names = ["genjax"] + list(r.get("baselines", {}))
    metrics = [k for k, _ in _scalars(r["method"])]
    values = [r["method"]] + [r["baselines"][b] for b in names[1:]]
    parts.append(f"<h3>{_esc(os.path.basename(path))} (task {_esc(r.get('task'))}, "
                 f"{r.get('num_images')} images of split {_esc(r.get('split', ''))})</h3>")
    parts.append(_table(["output"] + metrics,
                        [[f"<b>{_esc(n)}</b>" if n == "genjax" else _esc(n)]
                         + [_num(v.get(m, "-")) for m in metrics] for n, v in zip(names, values)]))
    figure = path[:-len(".json")] + ".png"
    if os.path.exists(figure):
      cols = images.read_provenance(figure).get("columns", "")
      parts.append(_img(figure, f"columns: {', '.join(json.loads(cols)) if cols else ''}"))
    parts.append("<details><summary>provenance</summary>" + _table(
        ["key", "value"], [[_esc(k), _esc(v)] for k, v in r.get("provenance", {}).items()])
        + "</details>")
  memo = sorted(glob.glob(os.path.join(workdir, "eval", "closest_pairs_*.png")))
  if memo:
    parts.append("<h3>Memorisation: samples beside their nearest training images</h3>")
    parts.append(_img(memo[-1], os.path.basename(memo[-1]), width=520))
  return "".join(parts) or "<p class='muted'>No evaluation results yet (genjax.evaluate).</p>"


def _history_section(workdir: str) -> str:
  rows = _read_jsonl(os.path.join(workdir, "history.jsonl"))
  if not rows:
    return "<p class='muted'>No history.</p>"
  out = []
  for r in rows:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.get("time", 0)))
    what = r.get("event") or ("config changed" if "changed" in r else
                              "data files changed" if "data_files" in r else "")
    detail = {k: v for k, v in r.items() if k not in ("time", "event")}
    out.append([when, _esc(what), f"<code>{_esc(json.dumps(detail, default=str))[:400]}</code>"])
  return _table(["time", "event", "details"], out)


def _data_section(workdir: str) -> str:
  path = os.path.join(workdir, "data.json")
  if not os.path.exists(path):
    return "<p class='muted'>No data.json.</p>"
  info = json.load(open(path))
  fields = info.get("fields", {})
  rows = [[_esc(k), _esc(v)] for k, v in fields.items()]
  parts = [_table(["field", "kind and shape"], rows)]
  names, counts = info.get("class_names") or [], info.get("counts") or []
  if names:
    parts.append(f"<p>{len(names)} classes: " + ", ".join(
        f"{_esc(n)}" + (f" ({counts[i]})" if i < len(counts) else "")
        for i, n in enumerate(names)) + "</p>")
  return "".join(parts)


def run_page(workdir: str) -> str:
  """The HTML of one run's report."""
  config = json.load(open(os.path.join(workdir, "config.json")))
  history = _read_jsonl(os.path.join(workdir, "history.jsonl"))
  origin = next((h.get("origin", {}) for h in history if h.get("origin")), {})
  rows = _read_jsonl(os.path.join(workdir, "metrics.jsonl"))
  last = max((r["step"] for r in rows), default=0)
  status = next((h["event"] for h in reversed(history) if h.get("event")), "unknown")
  name = os.path.basename(os.path.abspath(workdir))
  sections = [f"<h1>{_esc(name)}: {_esc(config.get('method'))} run</h1>",
              f"<p>{_esc(os.path.abspath(workdir))}<br>config <code>{_esc(origin.get('config', '?'))}"
              f"</code>, step {last} of {config.get('train', {}).get('num_steps')}, "
              f"last event: <b>{_esc(status)}</b>. Report written "
              f"{time.strftime('%Y-%m-%d %H:%M')} by genjax {genjax.__version__}.</p>",
              "<h2>Curves</h2>"]
  plots = [(p, curves(rows, p)) for p in ("train/", "eval/", "quality/", "paired/")]
  sections += [_img(png, f"{p}* over steps", cls="plot") for p, png in plots if png] or [
      "<p class='muted'>No metrics yet.</p>"]
  sections += ["<h2>Samples over training</h2>", _samples_section(workdir),
               "<h2>Evaluation</h2>", _eval_section(workdir),
               "<h2>Data</h2>", _data_section(workdir),
               "<h2>Config</h2>", _config_section(workdir, config, origin),
               "<h2>History</h2>", _history_section(workdir)]
  return page(f"genjax report: {name}", sections)


def study_page(root: str) -> str:
  """The HTML of a study directory's report (from its summary.json)."""
  s = json.load(open(os.path.join(root, "summary.json")))
  sections = [f"<h1>Study: {_esc(s['study'])}</h1>",
              f"<p>{_esc(s.get('description', '').split(chr(10) * 2)[0])}</p>",
              f"<p>Base config <code>{_esc(s['base'])}</code>; seeds "
              f"{', '.join(map(str, s['seeds']))}; baseline <b>{_esc(s['baseline'])}</b>; "
              f"wall time {s.get('wall_s', 0) / 60:.1f} min. Each cell is compared with the "
              f"baseline by Welch's t-test, p-values adjusted per metric (Benjamini-Hochberg), "
              f"significant below {s['alpha']}.</p>", "<h2>Cells</h2>"]
  cell_rows = []
  for cell, overrides in s["cells"].items():
    links = []
    for seed, status in zip(s["seeds"], s["status"][cell]):
      rel = os.path.join(cell, f"seed{seed}", "report.html")
      label = f"seed {seed}: {status}"
      links.append(f'<a href="{_esc(rel)}">{_esc(label)}</a>'
                   if os.path.exists(os.path.join(root, rel)) else _esc(label))
    cell_rows.append([f"<b>{_esc(cell)}</b>", _esc(overrides), "<br>".join(links)])
  sections.append(_table(["cell", "overrides", "seeds"], cell_rows))
  for metric, by_cell in s["rows"].items():
    sections.append(f"<h2>{_esc(metric)} ({_esc(s['metrics'][metric])} is better)</h2>")
    rows = []
    for cell, r in by_cell.items():
      verdict = r.get("verdict", "baseline" if cell == s["baseline"] else "-")
      cls = verdict if verdict in ("better", "worse") else ""
      rows.append([_esc(cell), _num(r["n"]), f"{_num(r['mean'])} &plusmn; {_num(r['std'])}",
                   f"{_num(r['ci_low'])} to {_num(r['ci_high'])}",
                   "-" if cell == s["baseline"] else f"{_num(r.get('diff'))}",
                   _num(r.get("p_adj", "-")), f'<span class="{cls}">{_esc(verdict)}</span>'])
    sections.append(_table(["cell", "n", "mean \u00b1 std", "95% CI", "vs baseline",
                            "p (BH)", "verdict"], rows))
  sections.append("<h2>Findings</h2><ul>" + "".join(
      f"<li>{_esc(f.replace('**', ''))}</li>" for f in s["findings"]) + "</ul>")
  for name, path in s.get("figures", {}).items():
    sections.append(_img(os.path.join(root, path), name, cls="plot"))
  return page(f"genjax study: {s['study']}", sections)


def page(title: str, sections) -> str:
  return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
          f"<title>{_esc(title)}</title><style>{STYLE}</style></head><body>"
          + "\n".join(sections) + "</body></html>\n")


def is_study(path: str) -> bool:
  return os.path.exists(os.path.join(path, "summary.json"))


def write(path: str, out: str = "") -> str:
  """Writes the report of a run or study directory to `out` (default
  DIR/report.html); returns its path."""
  if not (is_study(path) or os.path.exists(os.path.join(path, "config.json"))):
    raise errors.MissingError(f"{path!r} is neither a genjax run (no config.json) nor a study "
                            "(no summary.json).")
  out = out or os.path.join(path, "report.html")
  text = study_page(path) if is_study(path) else run_page(path)
  with open(out + ".tmp", "w") as f:
    f.write(text)
  os.replace(out + ".tmp", out)
  return out
