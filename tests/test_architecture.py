"""The package's imports point one way (DESIGN.md, Layout): entry points ->
studies -> loop -> evaluators (and the generation controls) -> workdir ->
methods -> models / data / metrics (pure functions) -> small utilities.
Checked on every import statement, function-level ones included."""
import ast
import os

from tests.conftest import ROOT

LAYERS = [  # top to bottom; a module may import only from layers below its own
    {"train", "sample", "evaluate", "translate", "report"},
    {"studies", "zoo"},
    {"run"},
    {"evaluators", "control"},
    {"workdir"},
    {"methods"},
    {"models", "data", "metrics", "report_html", "launch", "preemption"},
    {"parallel", "checkpoint", "logging", "images", "registry", "config_lib", "latents", "cli"},
    {"errors", "__init__"},
]
PACKAGE = os.path.join(ROOT, "genjax")


def layer_of(unit: str) -> int:
  for i, names in enumerate(LAYERS):
    if unit in names:
      return i
  raise AssertionError(f"genjax.{unit} is in no layer of tests/test_architecture.py: "
                       "place it in LAYERS.")


def unit_of(module: str) -> str:
  """genjax.metrics.fid -> metrics; genjax -> __init__."""
  parts = module.split(".")
  return parts[1] if len(parts) > 1 else "__init__"


def genjax_imports(path: str):
  """(line, imported genjax module) for every import in the file."""
  tree = ast.parse(open(path).read(), path)
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      for a in node.names:
        if a.name.split(".")[0] == "genjax":
          yield node.lineno, a.name
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
      if node.module == "genjax":  # from genjax import data, run: each name a module
        for a in node.names:
          yield node.lineno, f"genjax.{a.name}"
      elif node.module.split(".")[0] == "genjax":
        yield node.lineno, node.module


def modules():
  for dirpath, _, names in os.walk(PACKAGE):
    for n in sorted(names):
      if n.endswith(".py"):
        path = os.path.join(dirpath, n)
        rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
        yield path, rel[:-len(".__init__")] if rel.endswith(".__init__") else rel


def test_imports_point_down_the_layers():
  bad = []
  for path, module in modules():
    unit = unit_of(module) if module != "genjax" else "__init__"
    for line, imported in genjax_imports(path):
      target = unit_of(imported)
      if target == unit:
        continue  # inside one package (e.g. metrics.extractors -> metrics.inception)
      if layer_of(target) <= layer_of(unit):
        bad.append(f"{os.path.relpath(path, ROOT)}:{line} imports {imported}")
  assert not bad, "Imports that point up or sideways:\n" + "\n".join(bad)


def test_the_check_sees_function_level_imports(tmp_path):
  """A function-level import that hides a cycle is a cycle: the parser finds
  imports inside functions and methods, in every form."""
  path = tmp_path / "m.py"
  path.write_text("import os\nimport genjax.data\n"
                  "class A:\n  def f(self):\n    from genjax import run, images\n"
                  "def g():\n  from genjax.evaluators.quality import FeatureSet\n")
  found = sorted(m for _, m in genjax_imports(str(path)))
  assert found == ["genjax.data", "genjax.evaluators.quality", "genjax.images", "genjax.run"]
  assert [layer_of(unit_of(m)) for m in found] == [6, 3, 7, 2]
