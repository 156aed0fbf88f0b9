"The scoring report (report.html) opened in headless Chromium: it renders, its images decode, sorting and paging work"
import html, json, re, shutil, subprocess
from pathlib import Path
import numpy as np, pandas as pd
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT/'_screenshots'   # for a person to open (git ignores it)
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
NO_CHROMIUM = ("headless Chromium is not installed (Debian: apt-get install chromium; on CI tools/test.sh installs it "
               "and tests/test_docs.py fails without it)")

# A page beside the report that opens it in a frame, acts like a user and writes what it saw into its own DOM
HARNESS = """<!doctype html><html><body><iframe id='f' src='report.html#per=2' style='width:1200px;height:8000px'>
</iframe><pre id='out'>pending</pre><script>
const f = document.getElementById('f'), r = {}, wait = ms => new Promise(res => setTimeout(res, ms));
f.addEventListener('load', async () => {
  const d = f.contentDocument, col = (k, id) => [...d.querySelectorAll('#' + (id || 'rows') + ' tr')]
    .map(tr => tr.children[k].textContent);
  const act = async (f) => { f(); await wait(300); };
  await wait(1000);
  r.images = d.images.length; r.decoded = [...d.images].filter(i => i.complete && i.naturalWidth > 0).length;
  r.broken = d.body.dataset.imagesBroken; r.pages = d.body.dataset.pages; r.first = col(2);
  r.volumes = col(1, 'vrows'); r.slices = d.querySelectorAll('#vrows img').length;
  await act(() => d.querySelector("th[data-key='file']").click()); r.byFile = col(2);
  await act(() => d.querySelector("th[data-key='file']").click()); r.byFileDesc = col(2);
  await act(() => d.querySelector("th[data-key='score']").click()); r.byScore = col(2);
  await act(() => d.getElementById('next').click()); r.page2 = col(2); r.page = d.body.dataset.page;
  r.hash = f.contentWindow.location.hash;
  await act(() => d.getElementById('prev').click()); r.back = col(2);
  await act(() => { const q = d.getElementById('filter'); q.value = 'p1'; q.dispatchEvent(new Event('change')); });
  r.filtered = col(2);
  await act(() => { const q = d.getElementById('filter'); q.value = ''; q.dispatchEvent(new Event('change')); });
  await act(() => d.getElementById('flagged').click()); r.flaggedShown = d.body.dataset.shown;
  r.flags = col(5);
  await act(() => { f.contentWindow.location.hash = 'per=100&q=onerror'; });
  r.hostile = col(2); r.hostileImg = [...d.querySelectorAll('#rows img')].map(i => i.complete && i.naturalWidth > 0);
  r.injected = d.querySelectorAll('img[src="x"]').length;
  document.getElementById('out').textContent = JSON.stringify(r);
});
</script></body></html>"""

def chromium(*args, timeout=120):
    p = subprocess.run([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', *args], capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout

def clicked(folder):
    "What the harness saw in `folder/report.html`"
    (folder/'harness.html').write_text(HARNESS)
    dom = chromium('--allow-file-access-from-files', '--virtual-time-budget=20000', '--dump-dom',
                   (folder/'harness.html').as_uri())
    got = html.unescape(re.search(r"<pre id=\"out\">(.*?)</pre>", dom, re.S).group(1))
    assert got != 'pending', 'the harness never finished'
    return json.loads(got)

HOSTILE = 'a\'b"<img src=x onerror=alert(1)> #1 %20 ?.png'   # a legal file name that is also HTML and URL syntax

@pytest.fixture(scope='module')
def scored(tmp_path_factory):
    "An untrained detector (threshold: the median score) scores images, one of them hostile, a volume, 2 broken files"
    import nibabel as nib
    from anomalypro.core import preset
    from anomalypro.model import build_generator
    from anomalypro.detector import AnomalyDetector
    tmp = tmp_path_factory.mktemp('report'); src = tmp/'inbox'; (src/'ward').mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(5): Image.fromarray((rng.random((40, 40)) * 255).astype(np.uint8)).save(src/'ward'/f'p{i}.png')
    Image.fromarray((rng.random((40, 40)) * 255).astype(np.uint8)).save(src/HOSTILE)
    (src/'cut.png').write_bytes((src/'ward'/'p0.png').read_bytes()[:60]); (src/'fake.dcm').write_text('hello')
    nib.save(nib.Nifti1Image(rng.random((24, 24, 12)).astype(np.float32) * 100, np.eye(4)), str(src/'head.nii.gz'))
    cfg = preset('quick')
    det = AnomalyDetector(build_generator(cfg), cfg, threshold=dict(value=0.0, method='given'))
    det.threshold_info['value'] = float(np.median(det.score(sorted((src/'ward').glob('*.png')))))
    rep = det.score_files([src], tmp/'out', top_slices=2, progress=False, workers=0)
    return tmp/'out', rep

def test_scoring_writes_the_report_and_readable_heatmaps(scored):
    out, rep = scored
    assert rep.report == out/'report.html' and rep.n_images == 6 and len(rep.failed) == 2
    page = (out/'report.html').read_text()
    assert 'Images (6)' in page and 'Volumes (1)' in page and 'Files that could not be read (2)' in page
    sc = pd.read_csv(out/'scores.csv')
    for h in sc['heatmap'].dropna(): assert Image.open(out/h).size == (2 * 256 + 96, 24 + 256)   # 32 px input x 8

@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_the_report_renders_its_images_decode_and_it_sorts_filters_and_pages(scored):
    out, rep = scored
    sc = pd.read_csv(out/'scores.csv'); img = sc[sc['slice'].isna()]
    by_score = img.sort_values(['score', 'file'], ascending=[False, True])['file'].tolist()
    r = clicked(out)
    assert (r['images'], r['decoded'], r['broken']) == (2 + 2, 4, '0'), r   # a page of 2 thumbnails, 2 volume slices
    assert r['pages'] == '3' and r['first'] == by_score[:2], r                 # most anomalous first, 2 per page
    assert r['byFile'] == sorted(img['file'])[:2] and r['byFileDesc'] == sorted(img['file'])[::-1][:2], r
    assert r['byScore'] == by_score[:2] and r['page2'] == by_score[2:4] and r['page'] == '2', r
    assert 'sort=score' in r['hash'] and 'page=2' in r['hash'] and r['back'] == by_score[:2], r
    assert [Path(f).name for f in r['filtered']] == ['p1.png'], r
    n_flag = int(img['flag'].sum()); assert 0 < n_flag < len(img)
    assert r['flaggedShown'] == str(n_flag) and set(r['flags']) == {'flagged'}, r
    assert r['volumes'] == sc.loc[sc['slice'].notna(), 'file'].iloc[:1].tolist() and r['slices'] == 2, r
    assert [Path(f).name for f in r['hostile']] == [HOSTILE] and r['hostileImg'] == [True], r   # its thumbnail found
    assert r['injected'] == 0, r                                                 # and never parsed as HTML
    SHOTS.mkdir(exist_ok=True)
    chromium('--hide-scrollbars', '--window-size=1280,1600', '--virtual-time-budget=5000',
             f'--screenshot={SHOTS/"report.png"}', (out/'report.html').as_uri())
    shot = np.asarray(Image.open(SHOTS/'report.png').convert('L'), np.float32)
    assert shot.std() > 20 and (shot < 100).mean() > 0.01, 'the screenshot is blank'   # text and thumbnails drawn

@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_a_report_of_10000_files_opens_on_its_first_100(tmp_path):
    "Usable at 10,000 files: the page holds them as data and shows 100 rows (100 lazily loaded thumbnails) at a time"
    from anomalypro.report import write_report
    (tmp_path/'heatmaps').mkdir()
    for k in range(10): Image.new('RGB', (120, 60), (25 * k, 40, 40)).save(tmp_path/'heatmaps'/f'h{k}.png')
    n = 10_000; s = np.random.default_rng(0).random(n)
    pd.DataFrame(dict(file=[f'scans/p{i:05d}.dcm' for i in range(n)], slice='', score=s, score_paper=s,
                      flag=(s > 0.9).astype(int), heatmap=[f'heatmaps/h{i % 10}.png' for i in range(n)])
                 ).to_csv(tmp_path/'scores.csv', index=False)
    p = write_report(tmp_path)
    assert p.stat().st_size < 3_000_000
    dom = chromium('--virtual-time-budget=10000', '--window-size=1280,1600', '--dump-dom', p.as_uri())
    body = re.search(r'<body[^>]*>', dom).group(0)
    assert 'data-pages="100"' in body and 'data-shown="10000"' in body, body
    rows = re.findall(r'<td class="file">(scans/p\d+\.dcm)</td>', dom)
    assert len(rows) == 100 and rows[0] == f'scans/p{int(np.argmax(s)):05d}.dcm'
    assert dom.count('<img') == 100
