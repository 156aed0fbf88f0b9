"The repository's citation and licence files: present, valid, and in step with the package"
import hashlib
from pathlib import Path
import yaml
import anomalypro

ROOT = Path(__file__).resolve().parents[1]

def test_license_is_the_declared_apache_text():
    text = (ROOT/'LICENSE').read_bytes()
    assert b'Apache License' in text[:200] and b'Version 2.0, January 2004' in text[:200]
    assert hashlib.md5(text).hexdigest() == '3b83ef96387f14655fc854ddc3c6bd57'   # the Apache Software Foundation's LICENSE-2.0.txt
    assert 'license = "Apache-2.0"' in (ROOT/'pyproject.toml').read_text()

def test_citation_cff_names_the_paper_and_this_version():
    c = yaml.safe_load((ROOT/'CITATION.cff').read_text())
    assert c['cff-version'] == '1.2.0' and c['license'] == 'Apache-2.0'
    assert str(c['version']) == anomalypro.__version__, "bump CITATION.cff's version with anomalypro.__version__"
    p = c['preferred-citation']
    assert p['title'].startswith('HealthyGAN') and p['year'] == 2022 and p['authors'][0]['family-names'] == 'Siddiquee'
    assert any('2209.01822' in i['value'] for i in p['identifiers'])

import os, subprocess, sys, zipfile, json
import pytest

@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    "The wheel of this checkout, built as `pip wheel` builds it"
    d = tmp_path_factory.mktemp('wheel')
    p = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '-q', '-w', str(d), str(ROOT)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]
    (w,) = d.glob('anomalypro-*.whl')
    return w

def test_wheel_ships_the_experiment_notebooks_and_licence(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert 'anomalypro/notebooks/experiment.ipynb' in names and 'anomalypro/notebooks/ablation.ipynb' in names
    for s in ('quick', 'cpu', 'paper'): assert f'anomalypro/notebooks/params/{s}/common.yaml' in names, s
    for exp in ('demo', 'kermany', 'ixi_lesions', 'covidx', 'chestxray14', 'migraine'):
        for s in ('quick', 'cpu', 'paper'): assert f'anomalypro/notebooks/params/{s}/{exp}.yaml' in names, (s, exp)
    assert any(n.endswith('licenses/LICENSE') for n in names)
    here = {f"anomalypro/notebooks/{p.relative_to(ROOT/'nbs'/'experiments')}" for p in (ROOT/'nbs'/'experiments').glob('params/*/*.yaml')}
    assert here <= names, f"parameter files missing from the wheel (add the set to pyproject's packages): {sorted(here - names)}"

def test_installed_wheel_reproduces_outside_the_checkout(wheel, tmp_path):
    "The wheel installed on its own (no clone beside it) runs the demo at quick parameters from another folder"
    site, work = tmp_path/'site', tmp_path/'elsewhere'; work.mkdir()
    p = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--target', str(site), str(wheel)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]
    env = {**os.environ, 'PYTHONPATH': str(site), 'ANOMALYPRO_CACHE': str(tmp_path/'cache')}
    run = lambda *a: subprocess.run([sys.executable, '-m', 'anomalypro.cli', *a], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    ls = run('reproduce', '--list')
    assert ls.returncode == 0 and 'built in' in ls.stdout and 'quick' in ls.stdout, ls.stderr[-2000:]
    r = run('reproduce', '--experiments', 'demo', '--params', 'quick', '--quiet')
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    rd = work/'runs'/'demo'/'quick'
    info = json.loads((rd/'run_info.json').read_text())
    assert info['anomalypro'] == anomalypro.__version__ and info['git_revision'] is None   # the installed version, no clone
    ran = json.loads((rd/'notebook.ipynb').read_text())['metadata']['papermill']['input_path']
    assert ran == str(site/'anomalypro'/'notebooks'/'experiment.ipynb') and (rd/'metrics.json').exists()   # the packaged notebook ran
    assert yaml.safe_load((rd/'params.yaml').read_text())['N_BOOT'] == 50   # quick/common.yaml reached the run
    assert (work/'runs'/'results-quick.md').exists() and 'Traceback' not in r.stderr
