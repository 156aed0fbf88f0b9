"`reproduce --publish` merges into the tracked `figures/`: the experiments that ran replace their own rows and figures only."
import json, shutil
from pathlib import Path
import nbformat, pandas as pd, pytest
from anomalypro.reproduce import reproduce

ROOT = Path(__file__).resolve().parents[1]
FIG = ROOT/'figures'

def fake_notebooks(where, src):
    "An experiment notebooks folder whose notebook 'runs' the demo in a second: it copies `src` as its metrics and publishes a figure"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("SRC = None\nRUN_DIR = None\nPUBLISH_DIR = None", metadata=dict(tags=['parameters'])),
                nbformat.v4.new_code_cell(
                    "import shutil\nfrom pathlib import Path\nshutil.copy(SRC, Path(RUN_DIR)/'metrics.json')\n"
                    "if PUBLISH_DIR: Path(PUBLISH_DIR).mkdir(parents=True, exist_ok=True); (Path(PUBLISH_DIR)/'roc.png').write_text('new')")]
    nb.metadata['kernelspec'] = dict(name='python3', display_name='python3', language='python')
    (where/'params'/'cpu').mkdir(parents=True)
    nbformat.write(nb, where/'experiment.ipynb')
    (where/'params'/'cpu'/'demo.yaml').write_text(f"SRC: {json.dumps(str(src))}\n")
    return where

def lines(f, *exps, md=False):
    "The lines of `f` about `exps` (CSV rows, or Markdown table rows)"
    return [l for l in Path(f).read_text().splitlines() if l.startswith(tuple(f'| {e} |' if md else f'{e},' for e in exps))]

@pytest.fixture
def published(tmp_path):
    "The committed figures/ copied, then the demo reproduced (fake, new numbers) and published into the copy"
    if not (FIG/'results-cpu.csv').exists(): pytest.skip('no committed figures/results-cpu.csv')
    pub = tmp_path/'figures'
    shutil.copytree(FIG, pub, ignore=shutil.ignore_patterns('ablation', 'bench'))
    m = json.loads((FIG/'demo'/'metrics.json').read_text()); m['image']['n']['total'] = 12345   # a demo run with new numbers
    (tmp_path/'metrics.json').write_text(json.dumps(m))
    earlier = tmp_path/'runs'/'kermany'/'cpu'; earlier.mkdir(parents=True)   # a finished run of an earlier call, not published
    k = json.loads((FIG/'kermany'/'metrics.json').read_text()); k['image']['n']['total'] = 54321
    (earlier/'metrics.json').write_text(json.dumps(k))
    res = reproduce(['demo'], 'cpu', runs=tmp_path/'runs', notebooks=fake_notebooks(tmp_path/'nbs', tmp_path/'metrics.json'),
                    publish=pub, log=lambda *a: None)
    return res, tmp_path, pub

def test_publish_replaces_only_the_rows_that_ran(published):
    res, tmp, pub = published
    assert list(res['ok']) == ['demo'] and not res['failed']
    runs = pd.read_csv(tmp/'runs'/'results-cpu.csv', dtype=str, keep_default_na=False)
    assert list(dict.fromkeys(runs['experiment'])) == ['demo', 'kermany']          # runs/: every finished run, as before
    new = pd.read_csv(pub/'results-cpu.csv', dtype=str, keep_default_na=False)
    old = pd.read_csv(FIG/'results-cpu.csv', dtype=str, keep_default_na=False)
    assert list(new.columns) == list(old.columns)
    assert list(dict.fromkeys(new['experiment'])) == list(dict.fromkeys(old['experiment'])) == ['demo', 'kermany', 'ixi_lesions']
    others = ('kermany', 'ixi_lesions')   # untouched, byte for byte: kermany's earlier run in runs/ was not published
    for f in ('results-cpu.csv', 'selectors-cpu.csv'): assert lines(pub/f, *others) == lines(FIG/f, *others), f
    assert lines(pub/'results-cpu.md', *others, md=True) == lines(FIG/'results-cpu.md', *others, md=True)
    demo = new[new.experiment == 'demo'].reset_index(drop=True)
    pd.testing.assert_frame_equal(demo, runs[runs.experiment == 'demo'].reset_index(drop=True))   # replaced by this run's
    gan = demo.level.eq('image') & demo.method.str.startswith('HealthyGAN (')
    assert demo.loc[gan, 'n_test'].tolist() == ['12345'] and set(demo['run']) == {str(tmp/'runs'/'demo'/'cpu')}
    assert not set(lines(pub/'results-cpu.csv', 'demo')) & set(lines(FIG/'results-cpu.csv', 'demo'))
    md = lines(pub/'results-cpu.md', 'demo', md=True)
    md = [l for l in md if l.startswith(('| demo | image |', '| demo | patient |'))]   # the results, not the selectors
    assert len(md) == len(demo) and sum('| 12345 |' in l for l in md) == 1
    sel = pd.read_csv(pub/'selectors-cpu.csv'); assert list(dict.fromkeys(sel['experiment'])) == ['demo', 'kermany', 'ixi_lesions']
    assert '## Checkpoint selectors' in (pub/'results-cpu.md').read_text()

def test_publish_copies_only_the_figures_that_ran(published):
    _, _, pub = published
    assert (pub/'demo'/'roc.png').read_text() == 'new'
    for exp in ('kermany', 'ixi_lesions'):
        for f in (FIG/exp).rglob('*'):
            if f.is_file(): assert (pub/exp/f.relative_to(FIG/exp)).read_bytes() == f.read_bytes(), f

def test_republishing_the_committed_tables_changes_nothing(tmp_path):
    "Kept rows are copied as text and the Markdown is regenerated from the tables: the committed files come back byte for byte"
    from anomalypro.results import publish_results
    files = ('results-cpu.csv', 'selectors-cpu.csv', 'results-cpu.md')
    if not all((FIG/f).exists() for f in files): pytest.skip('no committed tables')
    for f in files: shutil.copy(FIG/f, tmp_path/f)
    publish_results(tmp_path, 'cpu', pd.DataFrame(), pd.DataFrame(), ran=[])
    for f in files: assert (tmp_path/f).read_bytes() == (FIG/f).read_bytes(), f
