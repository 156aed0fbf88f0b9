"The package's layout: one concept per module, layered without cycles, and TensorFlow only where a model is built."
import importlib.util, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT/'anomalypro'
MODULES = sorted(p for p in PKG.glob('*.py') if p.stem not in ('__init__', '_modidx'))

def _layers():
    "tools/layers.py as a module: it reads the imports and the notebooks' `default_exp`"
    spec = importlib.util.spec_from_file_location('layers', ROOT/'tools'/'layers.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m

LAYERS = _layers()
notebook_of, imports = LAYERS.notebook_of, LAYERS.imports

def test_no_module_imports_a_private_name_of_another():
    bad = [f"{p.name}:{ln} imports {n} from {m}" for p in MODULES for m, names, ln in imports(p)
           for n in names if m != p.stem and n.startswith('_') and not n.startswith('__')]
    assert not bad, '\n'.join(bad)

def test_no_import_cycle_and_no_import_of_a_higher_notebook():
    nbs = notebook_of()
    graph = {p.stem: {m for m, _, _ in imports(p) if m != p.stem and m in nbs} for p in MODULES}
    assert set(graph) <= set(nbs), f"modules without a notebook: {sorted(set(graph) - set(nbs))}"
    key = lambda m: nbs[m].split('_')[0]
    up = [f"{a} ({nbs[a]}) imports {b} ({nbs[b]})" for a, bs in graph.items() for b in bs if key(b) >= key(a)]
    assert not up, '\n'.join(up)   # numbered in dependency order, so there can be no cycle either
    seen, stack = set(), set()
    def visit(m):   # the cycle check on its own, in case two notebooks ever share a number
        assert m not in stack, f"import cycle through {m}"
        if m in seen: return
        stack.add(m); [visit(n) for n in graph[m]]; stack.discard(m); seen.add(m)
    for m in graph: visit(m)

def test_modules_are_small():
    big = {p.name: n for p in MODULES if (n := len(p.read_text().splitlines())) > 360}
    assert not big, f"modules over ~350 lines: {big}"

LIGHT = ('core', 'io', 'datasets', 'lesions', 'demo', 'decode', 'registry', 'evaluate', 'scores', 'cli')

def test_light_modules_load_no_tensorflow():
    code = ("import sys\n" + ''.join(f"import anomalypro.{m}\n" for m in LIGHT) +
            "from anomalypro.cli import _parser\n_parser().parse_args(['train', '--data', 'demo', '--out', 'x'])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == '[]', r.stdout[:500]

def test_train_without_data_answers_before_tensorflow():
    r = subprocess.run([sys.executable, '-c', "import sys; from anomalypro.cli import main; c = main(['train', '--out', 'x']); "
                        "print(c, 'tensorflow' in sys.modules)"], capture_output=True, text=True, cwd=ROOT)
    assert r.stdout.split() == ['1', 'False'] and '--data is required' in r.stderr, (r.stdout, r.stderr[-1000:])

def test_developing_guide_shows_the_layers_as_they_are():
    "docs/developing.md's layer picture is the one `python tools/layers.py --docs` draws from the imports today"
    assert LAYERS.block() in (ROOT/'docs'/'developing.md').read_text(), "run: python tools/layers.py --docs"

def _all_lines(path):
    "The line numbers of the `__all__` list nbdev writes"
    import ast
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(n, 'id', None) == '__all__' for n in node.targets):
            return set(range(node.lineno, node.end_lineno + 1))
    return set()

def test_library_lines_are_wrapped():
    "Every line of the library is at most 120 characters (the `__all__` nbdev writes aside)"
    long = [f"{p.name}:{i}" for p in MODULES for i, l in enumerate(p.read_text().splitlines(), 1)
            if len(l) > 120 and i not in _all_lines(p)]
    assert not long, f"lines over 120 characters: {long[:20]}"
