"""The documentation site (tools/docs.py), laid out like an nbdev site: a grouped sidebar, notebook pages without
directives, prompts or set-up cells, exported cells as API entries in place, guides from docs/, links that resolve;
rendered by headless Chromium"""
import html, importlib.util, json, os, re, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def build(out, *args):
    p = subprocess.run([sys.executable, str(ROOT/'tools'/'docs.py'), '--out', str(out), *args], capture_output=True,
                       text=True, timeout=900, cwd=ROOT)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    return p

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "The whole site, not executed (the guides from docs/)"
    s = tmp_path_factory.mktemp('docs')/'site'; build(s, '--no-execute'); return s

def main_of(page): return page.read_text().split('<main>', 1)[1].split('</main>', 1)[0]
def plain(h): return html.unescape(re.sub(r'<[^>]+>', '', h))   # the text of HTML `h`
def nb_title(nb): return next(l[2:].strip() for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'markdown'
                              for l in ''.join(c['source']).splitlines() if l.startswith('# '))
def sidebar_of(page): return re.search(r"<nav class='sidebar'.*?</nav>", page.read_text(), re.S).group(0)
def guide_titles(folder):
    "stem -> title (first `# ` heading) of every guide in `folder`"
    return {p.stem: next((l[2:].strip() for l in p.read_text().splitlines() if l.startswith('# ')), p.stem)
            for p in Path(folder).glob('*.md')}

def broken_refs(s):
    "Every local href and src of the site's pages that names no file of the site"
    pages, broken = sorted(s.rglob('*.html')), []
    for page in pages:
        for ref in re.findall(r"""(?:href|src)=['"]([^'"]+)['"]""", page.read_text()):
            if re.match(r'[a-z][a-z0-9+.-]*:', ref) or ref.startswith(('#', '//')): continue   # http:, data:, anchors
            if not (page.parent/ref.split('#')[0].split('?')[0]).resolve().exists():
                broken.append(f"{page.relative_to(s)} -> {ref}")
    return pages, broken

def test_site_has_a_page_per_notebook_guide_and_the_results(site):
    s = site
    for nb in list((ROOT/'nbs').glob('[0-9]*.ipynb')): assert (s/f'{nb.stem}.html').exists(), nb.stem
    for nb in (ROOT/'nbs'/'experiments').glob('*.ipynb'): assert (s/f'experiment-{nb.stem}.html').exists(), nb.stem
    for g in (ROOT/'docs').glob('*.md'): assert (s/f'{g.stem}.html').exists(), g.name
    res = (s/'results.html').read_text()
    imgs = re.findall(r"<img src='([^']+)'", res)
    assert len(imgs) >= 5 and all((s/i).exists() for i in imgs)
    assert 'HealthyGAN' in main_of(s/'index.html')

def test_every_internal_link_and_image_of_the_site_resolves(site):
    "A crawl of the built site: every local href and src of every page names a file of the site"
    pages, broken = broken_refs(site)
    assert len(pages) > 30 and not broken, broken[:20]

def test_notebook_pages_show_no_directives_prompts_or_setup_cells(site):
    for nb in sorted((ROOT/'nbs').glob('[0-9]*.ipynb')) + sorted((ROOT/'nbs'/'experiments').glob('*.ipynb')):
        page = site/(f'{nb.stem}.html' if nb.parent.name == 'nbs' else f'experiment-{nb.stem}.html')
        body = main_of(page); code = [plain(c) for c in re.findall(r'<pre>(.*?)</pre>', body, re.S)]
        assert not [l for c in code for l in c.splitlines() if l.lstrip().startswith('#|')], page.name
        assert not re.search(r'(In|Out)(\s|&nbsp;)*\[(\s|&nbsp;|\d)*\]:', body), page.name
        assert '#| export' not in plain(body) and '#| default_exp' not in plain(body), page.name
        assert plain(body).lstrip().startswith(nb_title(nb)), (page.name, plain(body)[:200])   # no set-up cells first
    scores = main_of(site/'02a_scores.html')
    assert 'from fastcore.test import' not in plain(scores) and 'from __future__' not in plain(scores)

def test_exported_cells_are_api_entries_in_place(site):
    "`aucp` of nbs/02a_scores.ipynb: heading, signature, docstring, docments rows, between its section and the next"
    body = main_of(site/'02a_scores.html'); text = plain(body)
    entry = re.search(r"<div class='api'><h3 id='aucp'>.*?</div>\s*<details", body, re.S)
    assert entry, 'no API entry for aucp'
    e = entry.group(0)
    assert 'aucp (healthy_scores, unannotated_scores)' in plain(e)
    assert 'The AUC of unannotated images against known-healthy ones' in plain(e)
    rows = re.findall(r'<tr><td><code>(\w+)</code></td><td>[^<]*</td><td>[^<]*</td><td>(.*?)</td></tr>', e)
    assert rows == [('healthy_scores', 'scores of known-healthy images (negatives)'),
                    ('unannotated_scores', 'scores of the unannotated images of A (positives)')], rows
    order = [text.index(t) for t in ('AUCp: choosing without labels', 'aucp (healthy_scores, unannotated_scores)',
                                      'test_close(aucp([0.1, 0.4]', 'Patients: mean or top-k of the slices')]
    assert order == sorted(order), order                                        # in place, the demo below it
    fit = plain(re.search(r"<div class='api'><h3 id='mapcalibration.fit'>.*?</table>", body, re.S).group(0))
    assert 'MapCalibration.fit (maps, rel_eps:float=0.01)' in fit              # a fastcore @patch class method
    assert 'N x S x S anomaly maps of healthy images (N >= 2)' in fit and '0.01' in fit
    assert 'API: anomalypro.scores' not in text and 'Also exported' not in text  # no appendix: all shown in place
    assert re.search(r"<details class='source'><summary>source</summary>.*?def.*?aucp", body, re.S)   # source folded

def test_every_page_has_the_grouped_sidebar_with_the_page_highlighted(site):
    guides = ['Guides'] if list((ROOT/'docs').glob('*.md')) else []
    groups = ['Get started', *guides, 'Library', 'Experiments', 'Results']
    lib = sorted((ROOT/'nbs').glob('[0-9]*.ipynb'))
    for page in sorted(site.glob('*.html')):
        nav = sidebar_of(page)
        assert re.findall(r"<p class='sb-group'>(.*?)</p>", nav) == groups, page.name
        assert re.findall(r"<a href='([^']+)' class='active'", nav) == [page.name], page.name
    nav = sidebar_of(site/'index.html')
    for nb in lib: assert f"<a href='{nb.stem}.html'>{html.escape(nb_title(nb))}</a>" in nav, nb.stem   # no stems
    subs = re.findall(r"<p class='sb-sub'>(.*?)</p>", nav)
    assert subs[:3] == ['Core', 'Data', 'Evaluation'] and len(subs) == len(set(subs)), subs
    i, j = nav.index("<p class='sb-sub'>Evaluation</p>"), nav.index("<p class='sb-sub'>Model</p>")
    assert i < nav.index("href='02a_scores.html'") < j                          # in its layer's group
    titles = guide_titles(ROOT/'docs')
    for stem, t in titles.items(): assert f"<a href='{stem}.html'>{html.escape(t)}</a>" in nav, stem

def test_guides_in_order_with_their_links_made_the_sites(tmp_path):
    "Guides from another folder: the docs.py order, then others alphabetically; .md, .ipynb and image links rewritten"
    docs = tmp_path/'guides'; (docs/'img').mkdir(parents=True)
    shutil.copy2(next((ROOT/'figures').rglob('*.png')), docs/'img'/'fig.png')
    (docs/'notes.txt').write_text('not a page')
    nb = os.path.relpath(ROOT/'nbs'/'02a_scores.ipynb', docs)
    (docs/'zz-extra.md').write_text('# An extra guide\n\nText.\n')
    (docs/'aa-other.md').write_text('# Another guide\n')
    (docs/'developing.md').write_text('# Developing it\n')
    (docs/'reproduce.md').write_text(f'# Reproducing\n\nSee [the other](zz-extra.md#text), [scores]({nb}), '
                                     f'[notes](notes.txt).\n\n![a figure](img/fig.png)\n')
    build(tmp_path/'site', '--no-execute', '--only', '02a_scores', '--docs', str(docs))
    s = tmp_path/'site'
    nav = sidebar_of(s/'02a_scores.html')
    guides = nav.split("<p class='sb-group'>Guides</p>")[1].split("<p class='sb-group'>")[0]
    assert re.findall(r"<a href='([^']+)'>", guides) == ['reproduce.html', 'developing.html', 'aa-other.html',
                                                         'zz-extra.html']
    assert '>Reproducing</a>' in guides and '>An extra guide</a>' in guides
    page = main_of(s/'reproduce.html')
    assert 'href="zz-extra.html#text"' in page and 'href="02a_scores.html"' in page
    assert 'notes (<code>notes.txt</code>)' in page and 'notes.txt"' not in page   # a file that is no page: text
    img = re.search(r'<img src="([^"]+)" alt="a figure"', page).group(1)
    assert (s/img).is_file() and not img.startswith('..')
    pages, broken = broken_refs(s)
    assert not broken, broken

def test_render_notebook_hides_set_up_and_shows_patched_methods_in_place(tmp_path):
    "A notebook written here: `#| hide`, import and directive cells go; a `@patch` method is an entry where it is"
    import nbformat
    spec = importlib.util.spec_from_file_location('docs_tool', ROOT/'tools'/'docs.py')
    docs = importlib.util.module_from_spec(spec); spec.loader.exec_module(docs)
    code, mdc = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    cells = [code('#| default_exp scores'), code('#| export\nimport numpy as np'),
             code('from fastcore.test import test_eq\n%matplotlib inline\nscratch_folder = 1'),
             mdc('# A title\n\n> A description'), code('#| hide\nsecret_setup = 1'), code('import os, json'),
             code('#| export\n@patch\ndef save(self:MapCalibration, path): pass'),
             code('#| export\n_PRIVATE = 1\nPUBLIC_LIMIT = 2'), code('demo_call()'), mdc('## The next section')]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path/'x.ipynb')
    title, body = docs.render_notebook(tmp_path/'x.ipynb', docs.Site(tmp_path), False)
    text = plain(body)
    assert title == 'A title' and text.lstrip().startswith('A title')
    for gone in ('secret_setup', 'test_eq', 'scratch_folder', 'default_exp', 'import numpy', 'import os', '#|'):
        assert gone not in text, gone
    order = [text.index(t) for t in ('MapCalibration.save (path)', 'PUBLIC_LIMIT', 'demo_call()', 'The next section')]
    assert order == sorted(order), order
    assert "<summary>source: PUBLIC_LIMIT</summary>" in body                  # constants: their source, folded
    assert "Also exported by" in body and "<h3 id='aucp'>" in body            # names not shown in place, at the end

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
SHOTS = ROOT/'_screenshots'   # where the browser test leaves its screenshots for a person to open (git ignores it)

def test_chromium_is_there_under_ci():
    "On CI the test command installs Chromium (tools/test.sh), so that the browser test below runs, not skips"
    if not os.environ.get('CI'): pytest.skip('not on CI: the browser test is skipped where Chromium is absent')
    assert CHROMIUM, 'CI is set but Chromium is missing: tools/test.sh installs it (apt-get install chromium)'

@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian: apt-get install chromium)")
def test_pages_render_with_their_figures_in_headless_chromium(tmp_path):
    build(tmp_path/'site', '--only', '02b_plots')                                    # executed: its figures are outputs
    for page, at_least in (('02b_plots.html', 3), ('results.html', 5)):
        p = subprocess.run([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=5000',
                            '--dump-dom', (tmp_path/'site'/page).as_uri()], capture_output=True, text=True, timeout=120)
        m = re.search(r'data-images-loaded="(\d+)"', p.stdout)
        assert m and int(m.group(1)) >= at_least, (page, p.stdout[:500], p.stderr[-1000:])
    SHOTS.mkdir(exist_ok=True)
    for page in ('index', 'results', '02b_plots'):   # screenshots a person can open; each more than a blank page
        shot = SHOTS/f'{page}.png'; shot.unlink(missing_ok=True)
        subprocess.run([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
                        '--window-size=1280,1600', f'--screenshot={shot}', (tmp_path/'site'/f'{page}.html').as_uri()],
                       capture_output=True, timeout=120)
        from PIL import Image
        im = Image.open(shot).convert('L')
        assert im.size == (1280, 1600) and sum(1 for c in im.histogram() if c) > 8, (page, im.size)
        print(f'screenshot: {shot}')
