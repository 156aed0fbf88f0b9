"""Build the documentation site from the notebooks, in pure Python (Quarto, which nbdev-docs needs, cannot be installed
on the project's machines), laid out like an nbdev site: a grouped sidebar on every page (Get started: the README;
Guides: docs/*.md; Library: one page per library notebook, by layer; Experiments; Results). A library page is its
notebook without directives, prompts or set-up cells, each exported cell shown in place as API entries (signature,
docstring, docments table; its source folded), executed so that outputs and figures show. Experiment notebooks are
shown, not run (they train); the results page has the committed figures and tables.

    python tools/docs.py                      # -> _site/index.html (6-7 minutes on 2 cores: runs the library notebooks)
    python tools/docs.py --no-execute         # the pages without cell outputs (seconds)
    python tools/docs.py --only 02a_scores 02b_plots
    python tools/docs.py --docs /tmp/guides   # the guides from another folder (default: docs/)
"""
import argparse, ast, html, importlib, inspect, re, shutil, sys, time, tomllib
from pathlib import Path
from urllib.parse import unquote
import mistune
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

ROOT = Path(__file__).resolve().parents[1]
SKIP_FLAGS = ('#| eval: false', '#| notest', '#| slow', '#| gpu')
GUIDES = ('own-data', 'reproduce', 'evaluation', 'configuration', 'ablation', 'performance', 'distributed',
          'crash-safety', 'developing')   # the guides' order in the sidebar; other docs/*.md follow, alphabetically
LAYERS = {'00': 'Core', '01': 'Data', '02': 'Evaluation', '03': 'Model', '04': 'Training', '05': 'Baselines',
          '07': 'Experiments and results', '08': 'Use', '09': 'Use'}   # notebook number -> its Library group
EXPORTS = ('export', 'exports', 'exporti')
IMAGES = ('.png', '.jpg', '.jpeg', '.gif', '.svg')
CSS = (Path(__file__).parent/'docs.css').read_text() + HtmlFormatter(style='friendly').get_style_defs('.hl')

# after loading, the page records how many of its images decoded (checked in headless Chromium by tests/test_docs.py)
LOADED = ("<script>window.addEventListener('load', () => { document.body.dataset.imagesLoaded = "
          "[...document.images].filter(i => i.complete && i.naturalWidth > 0).length; });</script>")

# ---- markdown and code
def text_of(h): return html.unescape(re.sub(r'<[^>]+>', '', h))

def slug(text):
    "GitHub's anchor of a heading with inner HTML `text`"
    return re.sub(r'[^\w\- ]', '', text_of(text).strip().lower()).replace(' ', '-')

def code_html(code, lang='python'):
    "`code` highlighted by Pygments"
    try: lexer = get_lexer_by_name(lang or 'text')
    except ClassNotFound: lexer = get_lexer_by_name('text')
    out = highlight(code, lexer, HtmlFormatter(cssclass='hl'))   # quotes escaped too: `src='x'` in code is no markup
    return re.sub(r'>([^<]+)<', lambda m: '>' + m.group(1).replace('"', '&quot;').replace("'", '&#39;') + '<', out)

class _Renderer(mistune.HTMLRenderer):
    "Mistune's HTML with GitHub's heading anchors (unique within a page) and highlighted code blocks"
    def __init__(self, ids): super().__init__(escape=False); self.ids = ids
    def heading(self, text, level, **attrs):
        base = slug(text) or 'section'; i, k = base, 0
        while i in self.ids: k += 1; i = f'{base}-{k}'
        self.ids.add(i); return f'<h{level} id="{i}">{text}</h{level}>\n'
    def block_code(self, code, info=None): return code_html(code, (info or 'text').split()[0])

def md(text, ids=None):
    "HTML of markdown `text` (GitHub flavoured); `ids`: the heading anchors already used on the page"
    r = _Renderer(set() if ids is None else ids)
    return mistune.create_markdown(renderer=r, plugins=['table', 'strikethrough', 'url'])(text)

# ---- links between pages
def _local(ref): return bool(ref) and not (re.match(r'[a-z][a-z0-9+.-]*:', ref, re.I) or ref.startswith(('#', '//')))

class Site:
    "The site being built: its folder, and the page each source file became (for links between them)"
    def __init__(self, out): self.out, self.pages = out, {}
    def add(self, src, href): self.pages[Path(src).resolve()] = href

    def target(self, ref, base, attr):
        "What local `ref` (an `attr`) in a file of folder `base` becomes: a page, a file copied in, or None (no page)"
        path, _, frag = ref.partition('#')
        f = (base/unquote(path)).resolve()
        if f in self.pages: return self.pages[f] + (f'#{frag}' if frag else '')
        if not f.is_file() or (attr == 'href' and f.suffix.lower() not in IMAGES): return None
        rel = f.relative_to(ROOT) if f.is_relative_to(ROOT) else Path('assets')/f.name
        (self.out/rel).parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, self.out/rel)
        return rel.as_posix()

    def rewrite(self, text, base):
        "HTML `text` with its local links made the site's: .md and .ipynb to their pages, images copied in"
        def link(m):
            ref, inner = html.unescape(m.group(3)), m.group(5)
            if not _local(ref): return m.group(0)
            if t := self.target(ref, base, 'href'):
                return f'<a {m.group(1)}href="{html.escape(t)}"{m.group(4)}>{inner}</a>'
            print(f"  link to {ref}: no page, shown as text", file=sys.stderr)   # the text stays, naming the file
            return inner if ref.split('#')[0] in text_of(inner) else f"{inner} (<code>{html.escape(ref)}</code>)"
        def src(m):
            ref = html.unescape(m.group(2))
            t = self.target(ref, base, 'src') if _local(ref) else None
            return f'src="{html.escape(t)}"' if t else m.group(0)
        text = re.sub(r'<a\s([^>]*?)href=(["\'])(.*?)\2([^>]*)>(.*?)</a>', link, text, flags=re.S)
        return re.sub(r'\bsrc=(["\'])(.*?)\1', src, text)

# ---- API entries (nbdev's show_doc)
def _public(name): return not name.startswith('_') or (name[:2] == name[-2:] == '__' and name != '__init__')

def _patched_to(f):
    "The class a fastcore `@patch` (or `@patch_to(Cls)`) function goes to, as written, else None"
    for d in f.decorator_list:
        name = ast.unparse(d.func if isinstance(d, ast.Call) else d).split('.')[-1]
        if name == 'patch_to' and isinstance(d, ast.Call) and d.args: return ast.unparse(d.args[0])
        if name == 'patch' and f.args.args and (a := f.args.args[0].annotation) is not None:
            return ast.unparse(a.elts[0] if isinstance(a, ast.Tuple) and a.elts else a)   # `self:Cls`, `self:(A,B)`

def defined_names(src):
    "(API names, other names) an exported cell defines: public functions, classes, `Cls.f` for `@patch`; the rest"
    try: body = ast.parse(src).body
    except SyntaxError: return [], []
    api, other = [], []
    for n in body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            cls = None if isinstance(n, ast.ClassDef) else _patched_to(n)
            (api if _public(n.name) else other).append(f'{cls}.{n.name}' if cls else n.name)
        elif isinstance(n, (ast.Assign, ast.AnnAssign)):
            other += [t.id for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                      if isinstance(t, ast.Name) and _public(t.id)]
    return api, other

def only_imports(src):
    "Whether `src` holds nothing but imports, comments and `%` magics"
    try: body = ast.parse(re.sub(r'(?m)^\s*%.*$', '', src)).body
    except SyntaxError: return False
    return all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in body)

def resolve(mod, dotted):
    "The function or class `dotted` (`f` or `Cls.f`) names in module `mod`, else None"
    obj = mod
    for part in dotted.split('.'): obj = getattr(obj, part, None)
    obj = obj.fget if isinstance(obj, property) else obj
    return obj if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismethod(obj) else None

def _anno(x):
    if x in (inspect.Parameter.empty, None): return ''
    return x if isinstance(x, str) else getattr(x, '__name__', str(x).replace('typing.', ''))

def _default(x): r = repr(x); return r if len(r) <= 60 else r[:57] + '...'

def signature(obj):
    "The parameters as nbdev writes them, with the closing parenthesis: `a, b:int=1, *args, c=2, **kw)`"
    try: sig = inspect.signature(obj)
    except (TypeError, ValueError): return '...)'
    P, out = inspect.Parameter, []
    ps = list(sig.parameters.values())
    if ps and ps[0].name == 'self': ps = ps[1:]   # a method looked up on its class (`@patch`)
    for i, p in enumerate(ps):
        if p.kind == P.KEYWORD_ONLY and not any(q.kind in (P.VAR_POSITIONAL, P.KEYWORD_ONLY) for q in ps[:i]):
            out.append('*')
        s = {P.VAR_POSITIONAL: '*', P.VAR_KEYWORD: '**'}.get(p.kind, '') + p.name
        if p.annotation is not P.empty: s += ':' + _anno(p.annotation)
        if p.default is not P.empty: s += '=' + _default(p.default)
        out.append(s)
    ret = _anno(sig.return_annotation)
    return ', '.join(out) + ')' + (f'->{ret}' if ret not in ('', 'None') and not inspect.isclass(obj) else '')

def docments_table(obj):
    "The docments of `obj`'s parameters as nbdev's table (parameter, type, default, details), or ''"
    from fastcore.docments import docments
    try: d = docments(obj, full=True)
    except Exception: return ''
    E = inspect.Parameter.empty
    rows = [(f'<code>{html.escape(k)}</code>', _anno(v.get('anno')), v.get('default', E), v.get('docment'))
            for k, v in d.items() if k not in ('self', 'cls', 'return')]
    ret = d.get('return', {}); ra = _anno(ret.get('anno'))
    if ret.get('docment') or ra not in ('', 'None'): rows.append(('<b>Returns</b>', ra, E, ret.get('docment')))
    if not any(r[1] or r[3] for r in rows): return ''
    cell = lambda x: f"<td>{x}</td>"
    inline = lambda t: md(t or '', set()).strip().removeprefix('<p>').removesuffix('</p>')
    dflt = lambda x: '' if x is E else f'<code>{html.escape(_default(x))}</code>'
    body = ''.join(f'<tr>{cell(k)}{cell(html.escape(a))}{cell(dflt(df))}{cell(inline(doc))}</tr>'
                   for k, a, df, doc in rows)
    return ("<table class='docments'><thead><tr><th></th><th>Type</th><th>Default</th><th>Details</th></tr></thead>"
            f"<tbody>{body}</tbody></table>")

def api_entry(name, obj, ids):
    "HTML of one API entry, like nbdev's show_doc: the name, its signature, docstring and docments table"
    i = name.lower(); ids.add(i)
    out = [f"<div class='api'><h3 id='{html.escape(i)}'><code>{html.escape(name)}</code></h3>",
           f"<div class='sig'><b>{html.escape(name)}</b> ({html.escape(signature(obj))}</div>"]
    if doc := inspect.getdoc(obj): out.append(f"<div class='doc'>{md(doc, set())}</div>")
    return '\n'.join(out + [docments_table(obj), '</div>'])

# ---- notebooks
def directives(src):
    "({directive: value} of the `#|` lines of a cell, its source without them)"
    d, keep = {}, []
    for l in src.splitlines():
        if m := re.match(r'\s*#\|\s*([\w-]+)\s*:?\s*(.*)', l): d[m.group(1)] = m.group(2).strip()
        else: keep.append(l)
    return d, '\n'.join(keep).strip('\n')

def outputs_html(outputs):
    "A code cell's outputs, without prompts: images, HTML, markdown, text, streams, errors"
    from nbconvert.filters import strip_ansi
    pre = lambda t, cls='': f"<div class='out {cls}'><pre>{html.escape(strip_ansi(t))}</pre></div>"
    res = []
    for o in outputs:
        if o.output_type == 'stream':   # without TensorFlow's native log lines (`E0000 00:00:...] oneDNN ...`)
            if t := re.sub(r'(?m)^[EWIF]\d{4} [\d:.]+\s+\d+ \S+:\d+\] .*\n?', '', o.text): res.append(pre(t, o.name))
            continue
        if o.output_type == 'error': res.append(pre('\n'.join(o.traceback), 'stderr')); continue
        d = o.get('data', {})
        if img := next((k for k in ('image/png', 'image/jpeg') if k in d), None):
            b64 = re.sub(r'\s', '', d[img])
            res.append(f"<div class='out'><img src='data:{img};base64,{b64}' alt='output'></div>")
        elif 'image/svg+xml' in d: res.append(f"<div class='out'>{d['image/svg+xml']}</div>")
        elif 'text/html' in d: res.append(f"<div class='out'>{d['text/html']}</div>")
        elif 'text/markdown' in d: res.append(f"<div class='out'>{md(d['text/markdown'], set())}</div>")
        elif 'text/plain' in d: res.append(pre(d['text/plain']))
    return '\n'.join(res)

def module_of(nb):
    "The module a notebook exports to (its `#| default_exp`), else None"
    return next((m.group(1) for c in nb.cells if c.cell_type == 'code'
                 for m in [re.search(r'^\s*#\|\s*default_exp\s+(\S+)', c.source, re.M)] if m), None)

def title_of(texts, default):
    "The first `# ` heading of markdown `texts`"
    return next((l[2:].strip() for t in texts for l in t.splitlines() if l.startswith('# ')), default)

def md_cells(nb): return [c.source for c in nb.cells if c.cell_type == 'markdown']

def execute(nb, path):
    "Run the notebook in place, leaving out the cells nbdev-test skips (shown, not run)"
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor
    keep = {i: c.source for i, c in enumerate(nb.cells)
            if c.cell_type == 'code' and any(f in c.source for f in SKIP_FLAGS)}
    for i in keep: nb.cells[i].source = ''
    nb.cells.insert(0, nbformat.v4.new_code_cell('%matplotlib inline'))   # figures returned by a cell render as PNG
    ExecutePreprocessor(timeout=900, kernel_name='python3').preprocess(nb, {'metadata': {'path': str(path.parent)}})
    nb.cells.pop(0)
    for i, s in keep.items(): nb.cells[i].source = s

def exported_cell(src, d, mod, ids, done):
    "An exported cell in place: API entries of what it defines (added to `done`), then its source folded"
    api, rest = defined_names(src)
    own = lambda n: getattr(resolve(mod, n), '__module__', None) == mod.__name__   # `X = namedtuple(...)`: an entry
    api += [n for n in rest if mod and _public(n) and '.' not in n and own(n)]
    found = [(n, o) for n in api if (o := resolve(mod, n)) is not None] if mod else []
    done.update(n for n, _ in found); rest = [n for n in rest if n not in done]
    if not found and only_imports(src): return ''
    what = f": {', '.join(rest)}" if rest and not found else ''
    fold = f"<details class='source'{' open' if 'exports' in d else ''}><summary>source{what}</summary>"
    return ''.join(api_entry(n, o, ids) for n, o in found) + fold + code_html(src) + '</details>'

def code_cell(c, titled, mod, ids, done):
    "HTML of code cell `c` on its page ('' when not shown): set-up, `#| hide` and import-only cells are not"
    d, src = directives(c.source)
    exported = any(e in d for e in EXPORTS)
    if 'hide' in d or not (titled or exported): return ''   # cells above the title are set-up: imports, folders
    outs = '' if d.get('output') == 'false' else outputs_html(c.get('outputs', []))
    if exported: body = exported_cell(src, d, mod, ids, done)
    elif (not src.strip() or only_imports(src)) and not outs: return ''
    else: body = '' if d.get('echo') == 'false' or not src.strip() else code_html(src)
    return f"<div class='cell code'>{body}{outs}</div>" if body or outs else ''

def render_notebook(path, site, execute_it):
    "(title, HTML body) of one notebook as a documentation page, optionally executed first"
    import nbformat
    nb = nbformat.read(path, as_version=4)
    modname, mod, done, ids, parts, titled = module_of(nb), None, set(), set(), [], False
    if modname:
        try: mod = importlib.import_module(f'anomalypro.{modname}')
        except Exception as e: print(f"  anomalypro.{modname} does not import ({e!r}): no API entries", file=sys.stderr)
    if execute_it: execute(nb, path)
    for c in nb.cells:
        if c.cell_type == 'markdown':
            titled = titled or bool(re.search(r'(?m)^# ', c.source))
            parts.append(f"<div class='cell md'>{site.rewrite(md(c.source, ids), path.parent)}</div>")
        elif c.cell_type == 'code': parts.append(code_cell(c, titled, mod, ids, done))
    rest = [n for n in getattr(mod, '__all__', []) if n not in done and resolve(mod, n) is not None]
    if rest: parts.append(f"<h2 id='also-exported'>Also exported by <code>anomalypro.{modname}</code></h2>" +
                          ''.join(api_entry(n, resolve(mod, n), ids) for n in rest))
    return title_of(md_cells(nb), path.stem), '\n'.join(p for p in parts if p)

# ---- pages
def results_page(site):
    "The committed results tables and every experiment's figures (copied into the site)"
    out, parts, ids = site.out, [], set()
    for f in sorted((ROOT/'figures').glob('results-*.md')): parts.append(site.rewrite(md(f.read_text(), ids), f.parent))
    for d in sorted(p for p in (ROOT/'figures').iterdir() if p.is_dir()):
        pngs = sorted(d.glob('*.png'))
        if not pngs: continue
        (out/'figures'/d.name).mkdir(parents=True, exist_ok=True)
        parts.append(f"<h2 id='{slug(d.name)}'>{html.escape(d.name)}</h2>")
        for p in pngs:
            shutil.copy2(p, out/'figures'/d.name/p.name)
            parts.append(f"<figure><img src='figures/{d.name}/{p.name}' alt='{d.name} {p.stem}'>"
                         f"<figcaption>{p.stem}</figcaption></figure>")
    return '\n'.join(parts)

def guides(folder):
    "The guides in `folder` (docs/*.md): those of `GUIDES` in its order, then the others alphabetically"
    fs = {p.stem: p for p in Path(folder).glob('*.md')} if Path(folder).is_dir() else {}
    return [fs[s] for s in GUIDES if s in fs] + [fs[s] for s in sorted(set(fs) - set(GUIDES))]

def sidebar(entries, current):
    "The grouped navigation (entries: group, subgroup, href, label), the page `current` highlighted"
    out, last = [], (None, None)
    for g, sub, href, label in entries:
        if g != last[0]: out.append(f"<p class='sb-group'>{html.escape(g)}</p>")
        if sub and (g, sub) != last: out.append(f"<p class='sb-sub'>{html.escape(sub)}</p>")
        last = (g, sub)
        cur = " class='active' aria-current='page'" if href == current else ''
        out.append(f"<a href='{href}'{cur}>{html.escape(label)}</a>")
    return '\n'.join(out)

def toc(body):
    "'On this page': the body's second- and third-level headings"
    hs = re.findall(r"<h([23]) id=['\"]([^'\"]+)['\"]>(.*?)</h\1>", body, re.S)
    if len(hs) < 2: return ''
    links = ''.join(f"<a class='l{l}' href='#{i}'>{html.escape(text_of(t))}</a>" for l, i, t in hs)
    return f"<aside class='toc'><p>On this page</p>{links}</aside>"

def page(title, body, nav, repo=None):
    "A whole HTML page: top bar, sidebar, body, table of contents"
    gh = f"<a class='gh' href='{html.escape(repo)}'>GitHub</a>" if repo else ''
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width'><title>{html.escape(title)} - anomalypro</title>"
            f"<style>{CSS}</style></head><body><header class='topbar'><a class='brand' href='index.html'>anomalypro</a>"
            f"{gh}</header><div class='layout'><nav class='sidebar' aria-label='site'>{nav}</nav><main>{body}</main>"
            f"{toc(body)}</div>{LOADED}</body></html>")

def _layer(stem): return LAYERS.get(re.match(r'\d*', stem).group(0), 'Other')

def pages_of(lib, exps, gds):
    "Every page: (kind, source, href, title, sidebar group, subgroup)"
    import nbformat
    nbtitle = lambda p: title_of(md_cells(nbformat.read(p, as_version=4)), p.stem)
    ghref = lambda p: f"{'guide-' if p.stem in ('index', 'results') else ''}{p.stem}.html"
    return ([('readme', ROOT/'README.md', 'index.html', 'Overview', 'Get started', '')] +
            [('guide', p, ghref(p), title_of([p.read_text()], p.stem), 'Guides', '') for p in gds] +
            [('lib', p, f'{p.stem}.html', nbtitle(p), 'Library', _layer(p.stem)) for p in lib] +
            [('exp', p, f'experiment-{p.stem}.html', nbtitle(p), 'Experiments', '') for p in exps] +
            [('results', None, 'results.html', 'Results', 'Results', '')])

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', type=Path, default=ROOT/'_site', help='site folder (default: _site)')
    ap.add_argument('--no-execute', action='store_true', help='render the library notebooks without running them')
    ap.add_argument('--only', nargs='+', metavar='NAME', help='only these notebooks (stems) and the rest')
    ap.add_argument('--docs', type=Path, default=ROOT/'docs', help='folder of the guides (default: docs)')
    a = ap.parse_args(argv)
    out = a.out; shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True)
    lib = sorted((ROOT/'nbs').glob('[0-9]*.ipynb')); exps = sorted((ROOT/'nbs'/'experiments').glob('*.ipynb'))
    if a.only: lib, exps = [p for p in lib if p.stem in a.only], [p for p in exps if p.stem in a.only]
    try: repo = tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['urls']['Repository']
    except (OSError, KeyError, tomllib.TOMLDecodeError): repo = None
    pages, site = pages_of(lib, exps, guides(a.docs)), Site(out)
    for kind, p, h, *_ in pages:
        if p: site.add(p, h)
        if kind == 'guide': site.add(ROOT/'docs'/p.name, h)   # the README's docs/X.md, wherever the guides are
    for f in (ROOT/'figures').glob('results-*.md'): site.add(f, 'results.html')   # shown on the results page
    entries = [(g, sub, h, t) for _, _, h, t, g, sub in pages]
    for kind, p, h, title, *_ in pages:
        t = time.time()
        if kind == 'readme': title, body = 'anomalypro', site.rewrite(md(p.read_text(), set()), p.parent)
        elif kind == 'guide': body = site.rewrite(md(p.read_text(), set()), p.parent)
        elif kind == 'results': body = '<h1>Results</h1>' + results_page(site)
        else: title, body = render_notebook(p, site, kind == 'lib' and not a.no_execute)
        (out/h).write_text(page(title, body, sidebar(entries, h), repo))
        print(f"{h}: {title} ({time.time() - t:.0f} s)", flush=True)
    print(f"site: {out/'index.html'} ({len(pages)} pages)")

if __name__ == '__main__': sys.exit(main())
