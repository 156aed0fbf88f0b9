"""Build the documentation site from the notebooks, in pure Python (Quarto, which nbdev-docs needs, cannot be installed
on the project's machines): one HTML page per library notebook (executed, so that its outputs and figures show,
with the API of its module: every exported name's signature and its docments), one per experiment notebook (its
parameters and steps, not executed: it trains), a results page with the committed figures and tables, and the
README as the index.

    python tools/docs.py                  # -> _site/index.html (about 3 minutes: executes the library notebooks)
    python tools/docs.py --no-execute     # the pages without cell outputs (seconds)
    python tools/docs.py --only 02a_scores 02b_plots
"""
import argparse, html, importlib, inspect, re, shutil, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_FLAGS = ('#| eval: false', '#| notest', '#| slow', '#| gpu')
CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:0 auto;padding:0 1.5em;line-height:1.45}
nav{padding:.6em 0;border-bottom:1px solid #ddd;margin-bottom:1em;font-size:.9em}nav a{margin-right:.8em}
table{border-collapse:collapse;font-size:.85em}td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top}
code,pre{font-size:.88em}pre{background:#f6f8fa;padding:.6em;overflow-x:auto}img{max-width:100%}
.sig{background:#f6f8fa;padding:.4em .6em;font-family:monospace;white-space:pre-wrap}"""

# after loading, the page records how many of its images decoded (checked in headless Chromium by tests/test_docs.py)
LOADED = ("<script>window.addEventListener('load', () => { document.body.dataset.imagesLoaded = "
          "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length; });</script>")

def md(text):
    import markdown
    return markdown.markdown(text, extensions=['tables', 'fenced_code'])

def page(title, body, nav):
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)} - anomalypro</title>"
            f"<style>{CSS}</style></head><body><nav>{nav}</nav>{body}{LOADED}</body></html>")

def api_markdown(modname):
    "Markdown of every name in `modname.__all__`: signature, docstring and the docments of its parameters"
    from fastcore.docments import docments
    mod = importlib.import_module(modname); out = [f"## API: `{modname}`\n"]
    for name in getattr(mod, '__all__', []):
        obj = getattr(mod, name, None)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)): continue
        try: sig = str(inspect.signature(obj))
        except (TypeError, ValueError): sig = '(...)'
        out.append(f"### `{name}`\n\n<div class='sig'>{html.escape(name + sig)}</div>\n\n{inspect.getdoc(obj) or ''}\n")
        try: d = docments(obj, full=True, returns=False)
        except Exception: d = {}
        rows = [(k, v.get('anno'), v.get('default'), v.get('docment')) for k, v in d.items() if k not in ('self', 'return')]
        rows = [r for r in rows if r[3]]
        if rows:
            anno = lambda x: '' if x in (inspect._empty, None, type(None)) else html.escape(str(getattr(x, '__name__', x)))
            dflt = lambda x: '' if x is inspect._empty else f"`{x!r}`"
            out.append('| parameter | type | default | |\n|---|---|---|---|\n' +
                       ''.join(f"| `{k}` | {anno(a)} | {dflt(df)} | {html.escape(doc).replace('|', '&#124;')} |\n" for k, a, df, doc in rows))
    return '\n'.join(out)

def render_notebook(path, execute):
    "(title, HTML body) of one notebook, optionally executed first, with its module's API appended"
    import nbformat
    from nbconvert import HTMLExporter
    nb = nbformat.read(path, as_version=4)
    mod = next((re.search(r'#\|\s*default_exp\s+(\S+)', c.source).group(1) for c in nb.cells
                if c.cell_type == 'code' and re.search(r'#\|\s*default_exp\s+(\S+)', c.source)), None)
    if execute:
        from nbconvert.preprocessors import ExecutePreprocessor
        keep = {i: c.source for i, c in enumerate(nb.cells) if c.cell_type == 'code' and any(f in c.source for f in SKIP_FLAGS)}
        for i in keep: nb.cells[i].source = ''   # the cells nbdev-test skips are not run here either (shown, not run)
        nb.cells.insert(0, nbformat.v4.new_code_cell('%matplotlib inline'))   # figures returned by a cell render as PNG
        ExecutePreprocessor(timeout=900, kernel_name='python3').preprocess(nb, {'metadata': {'path': str(path.parent)}})
        nb.cells.pop(0)
        for i, s in keep.items(): nb.cells[i].source = s
    if mod: nb.cells.append(nbformat.v4.new_markdown_cell(api_markdown(f'anomalypro.{mod}')))
    body, _ = HTMLExporter(template_name='basic').from_notebook_node(nb)
    title = next((l.lstrip('# ').strip() for c in nb.cells if c.cell_type == 'markdown' for l in c.source.splitlines() if l.startswith('# ')), path.stem)
    return title, body

def results_page(out):
    "The committed results tables and every experiment's figures (copied into the site)"
    parts = []
    for f in sorted((ROOT/'figures').glob('results-*.md')): parts.append(md(f.read_text()))
    for d in sorted(p for p in (ROOT/'figures').iterdir() if p.is_dir()):
        pngs = sorted(d.glob('*.png'))
        if not pngs: continue
        (out/'figures'/d.name).mkdir(parents=True, exist_ok=True)
        parts.append(f"<h2>{html.escape(d.name)}</h2>")
        for p in pngs:
            shutil.copy2(p, out/'figures'/d.name/p.name)
            parts.append(f"<figure><img src='figures/{d.name}/{p.name}' alt='{d.name} {p.stem}'><figcaption>{p.stem}</figcaption></figure>")
    return '\n'.join(parts)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', type=Path, default=ROOT/'_site', help='site folder (default: _site)')
    ap.add_argument('--no-execute', action='store_true', help='render the library notebooks without running them')
    ap.add_argument('--only', nargs='+', metavar='NAME', help='only these notebooks (stems), plus the index and results')
    a = ap.parse_args(argv)
    out = a.out; shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True)
    lib = sorted((ROOT/'nbs').glob('[0-9]*.ipynb')); exps = sorted((ROOT/'nbs'/'experiments').glob('*.ipynb'))
    if a.only: lib, exps = [p for p in lib if p.stem in a.only], [p for p in exps if p.stem in a.only]
    pages = [(p, f'{p.stem}.html', not a.no_execute) for p in lib] + [(p, f'experiment-{p.stem}.html', False) for p in exps]
    nav = ' '.join([f"<a href='index.html'>anomalypro</a>", f"<a href='results.html'>results</a>"] +
                   [f"<a href='{h}'>{html.escape(p.stem)}</a>" for p, h, _ in pages])
    for p, h, ex in pages:
        t = time.time(); title, body = render_notebook(p, ex)
        (out/h).write_text(page(title, body, nav)); print(f"{h}: {title} ({time.time() - t:.0f} s)", flush=True)
    (out/'index.html').write_text(page('anomalypro', md((ROOT/'README.md').read_text()), nav))
    (out/'results.html').write_text(page('results', '<h1>Results</h1>' + results_page(out), nav))
    print(f"site: {out/'index.html'} ({len(pages) + 2} pages)")

if __name__ == '__main__': sys.exit(main())
