"The documentation site (tools/docs.py): one page per notebook with its module's API, the results with figures; rendered by headless Chromium"
import os, re, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def build(out, *args):
    p = subprocess.run([sys.executable, str(ROOT/'tools'/'docs.py'), '--out', str(out), *args], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-3000:]
    return p

def test_site_has_a_page_per_notebook_with_the_api(tmp_path):
    build(tmp_path/'site', '--no-execute')
    s = tmp_path/'site'
    for nb in list((ROOT/'nbs').glob('[0-9]*.ipynb')): assert (s/f'{nb.stem}.html').exists(), nb.stem
    for nb in (ROOT/'nbs'/'experiments').glob('*.ipynb'): assert (s/f'experiment-{nb.stem}.html').exists(), nb.stem
    scores = (s/'02a_scores.html').read_text()
    assert 'API: <code>anomalypro.scores</code>' in scores and 'MapCalibration' in scores
    assert 'N x S x S anomaly maps of healthy images (N &gt;= 2)' in scores          # a parameter's docment
    res = (s/'results.html').read_text()
    imgs = re.findall(r"<img src='([^']+)'", res)
    assert len(imgs) >= 5 and all((s/i).exists() for i in imgs)
    assert 'HealthyGAN' in (s/'index.html').read_text()

def test_every_internal_link_and_image_of_the_site_resolves(tmp_path):
    "A crawl of the built site: every local href and src of every page names a file of the site"
    build(tmp_path/'site', '--no-execute')
    s = tmp_path/'site'
    pages, broken = sorted(s.rglob('*.html')), []
    for page in pages:
        for ref in re.findall(r"""(?:href|src)=['"]([^'"]+)['"]""", page.read_text()):
            if re.match(r'[a-z][a-z0-9+.-]*:', ref) or ref.startswith(('#', '//')): continue   # http:, data:, mailto:, anchors
            target = (page.parent/ref.split('#')[0].split('?')[0]).resolve()
            if not target.exists(): broken.append(f"{page.relative_to(s)} -> {ref}")
    assert len(pages) > 30 and not broken, broken[:20]

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
        p = subprocess.run([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--virtual-time-budget=5000', '--dump-dom',
                            (tmp_path/'site'/page).as_uri()], capture_output=True, text=True, timeout=120)
        m = re.search(r'data-images-loaded="(\d+)"', p.stdout)
        assert m and int(m.group(1)) >= at_least, (page, p.stdout[:500], p.stderr[-1000:])
    SHOTS.mkdir(exist_ok=True)
    for page in ('index', 'results'):   # screenshots a person can open; each must show more than a blank page
        shot = SHOTS/f'{page}.png'; shot.unlink(missing_ok=True)
        subprocess.run([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--window-size=1280,1600',
                        f'--screenshot={shot}', (tmp_path/'site'/f'{page}.html').as_uri()], capture_output=True, timeout=120)
        from PIL import Image
        im = Image.open(shot).convert('L')
        assert im.size == (1280, 1600) and sum(1 for c in im.histogram() if c) > 8, (page, im.size)
        print(f'screenshot: {shot}')
