"Loader tests on fixtures written in each dataset's real folder layout, and the protocol (bad inputs: test_bad_inputs.py)"
import numpy as np
import pandas as pd
import pytest
from anomalypro.core import DataError, ConfigError
from anomalypro.datasets import (load_covidx, covidx_protocol, load_nih, load_kermany, load_folders,
                                 load_volumes, load_slices, load_slice_pngs, COLUMNS, NIH_FINDINGS)
from anomalypro.protocol import make_protocol
from anomalypro.io import preprocess_cxr
from anomalypro.store import build_store
from fixtures_data import (make_kermany, make_covidx, make_nih, make_own_folders, make_mri, write_png, write_dicom,
                           write_nifti, gradient, brain_volume)
import functools

def raises(f, *match, err=DataError):
    with pytest.raises(err) as e: f()
    for m in match: assert m in str(e.value), str(e.value)
    return str(e.value)

def tidy(df):
    assert list(df.columns[:5]) == COLUMNS and df['label'].isin([-1, 0, 1]).all()

# ---------------------------------------------------------------- COVIDx

def test_covidx_v7b_layout(tmp_path):
    root = make_covidx(tmp_path/'covidx')
    df = load_covidx(root); tidy(df)
    assert len(df) == 7 and df['subject'][1] == 'COVID 12' and df['label'].tolist() == [0, 1, 0, 0, 1, 1, 0]
    assert df['split'].tolist() == ['train'] * 5 + ['test'] * 2 and df['path'][5].endswith('test/f.png')
    assert 'set' not in df
    p = covidx_protocol(df, seed=0, verbose=False)
    assert (p.loc[p['split'] == 'test', 'set'] == 'test').all() and (p.loc[p['set'] == 'B', 'label'] == 0).all()

def test_covidx_later_release_three_classes(tmp_path):
    df = load_covidx(make_covidx(tmp_path/'c', release='v9'))
    assert df['label_name'].tolist() == ['normal', 'pneumonia', 'COVID-19', 'COVID-19', 'normal']
    assert df['label'].tolist() == [0, 0, 1, 1, 0] and df['subject'][2] == '3 x'
    df2 = load_covidx(tmp_path/'c', anomalous=('covid-19', 'pneumonia'))
    assert df2['label'].tolist() == [0, 1, 1, 1, 0]

def test_covidx_healthygan_lists(tmp_path):
    root = make_covidx(tmp_path/'covidx'); hg = root/'healthygan-split'; hg.mkdir()
    for n, names in dict(train_pos=['b.jpg'], train_neg_mixed=['a.png'], train_neg=['c.png'], test_pos=['f.png'],
                         test_neg=['g.png']).items():
        (hg/f'{n}.txt').write_text('\n'.join(names) + '\n')
    df = load_covidx(root)
    assert df['set'].tolist() == ['A', 'A', 'B', 'val', 'val', 'test', 'test']
    assert covidx_protocol(df, verbose=False)['set'].tolist() == df['set'].tolist()
    (hg/'train_neg.txt').write_text('c.png\nzzz.png\n')
    raises(lambda: load_covidx(root), 'train_neg.txt', 'zzz.png')
def test_covidx_missing_listed_file(tmp_path, capsys):
    root = make_covidx(tmp_path/'covidx'); (root/'train'/'c.png').unlink()
    raises(lambda: load_covidx(root), 'missing', 'c.png')
    df = load_covidx(root, on_error='skip')
    assert len(df) == 6 and 'c.png' in capsys.readouterr().out and df.attrs['skipped'][0][0].endswith('c.png')

# ---------------------------------------------------------------- NIH

@pytest.mark.parametrize('variant,layout', [('2017', 'nested'), ('2020', 'flat'), ('2020', 'images')])
def test_nih_variants(tmp_path, variant, layout):
    root = make_nih(tmp_path/'nih', variant, 'flat' if layout == 'flat' else 'nested')
    if layout == 'images':   # images/ (the Kaggle flat folder)
        (root/'images').mkdir()
        for p in list(root.glob('images_*/images/*.png')): p.rename(root/'images'/p.name)
    df = load_nih(root); tidy(df)
    assert len(df) == 5 and 'AP' not in set(df['view'])
    assert df['label'].tolist() == [1, 0, 0, 1, 0] and df['Effusion'].tolist() == [1, 0, 0, 0, 0]
    assert set(NIH_FINDINGS) <= set(df.columns) and df['Nodule'].sum() == 1
    assert df['split'].tolist() == ['train', 'train', 'test', 'train', 'test'] and df['subject'][0] == '1'
    assert df['age'][0] == 51
    assert len(load_nih(root, views=None)) == 6

def test_nih_without_images_or_lists(tmp_path):
    root = make_nih(tmp_path/'nih', images=False, lists=False)
    raises(lambda: load_nih(root), 'missing', '00000001_000.png')
    df = load_nih(root, check_files=False)
    assert (df['split'] == 'train').all() and len(df) == 5
def test_nih_protocol_keeps_official_test_and_subjects(tmp_path):
    df = load_nih(make_nih(tmp_path/'nih'))
    p = make_protocol(df, 0, n_val=0.0, verbose=False)
    assert (p.loc[p['split'] == 'test', 'set'] == 'test').all()
    assert p.groupby('subject')['set'].nunique().max() == 1

# ---------------------------------------------------------------- Kermany, own folders

def test_kermany_layout_and_store(tmp_path):
    root = make_kermany(tmp_path/'kermany')
    df = load_kermany(root); tidy(df)
    assert len(df) == 14 and (df['label_name'] == 'NORMAL').sum() == 6 and set(df['split']) == {'train', 'test'}
    assert set(df.loc[df['label'] == 1, 'subject']) == {'person1', 'person2'} and set(df['kind']) == {'', 'virus', 'bacteria'}
    st = build_store(df['path'], functools.partial(preprocess_cxr, image_size=16), progress=False)
    assert st.images.shape == (14, 16, 16, 1)
def test_own_folders(tmp_path):
    root = make_own_folders(tmp_path/'own')
    write_dicom(root/'test'/'abnormal'/'t3__000.dcm', gradient().astype(np.uint16), bits=12)
    df = load_folders(root); tidy(df)
    assert df.groupby('set').size().to_dict() == {'A': 4, 'B': 4, 'test': 5}
    assert (df.loc[df['set'] == 'A', 'label'] == -1).all() and set(df.loc[df['set'] == 'B', 'subject']) == {'h1', 'h2'}
    st = build_store(df['path'], functools.partial(preprocess_cxr, image_size=8), progress=False)
    assert len(st) == 13

# ---------------------------------------------------------------- brain MRI

def test_volumes_and_slices(tmp_path):
    root = make_mri(tmp_path/'mri')
    vols = load_volumes(root/'volumes', root/'labels.csv'); tidy(vols)
    assert vols['subject'].tolist() == ['s01', 's02', 's03'] and vols['label'].tolist() == [0, 1, 0]
    x, df = load_slices(vols, image_size=16, slice_range=(0.25, 0.75))
    assert x.shape[1:] == (16, 16, 1) and x.dtype == np.float32 and -1 <= x.min() and x.max() <= 1
    assert len(x) == len(df) and set(df['subject']) == {'s01', 's02', 's03'}
    assert (df.groupby('subject')['label'].first() == pd.Series({'s01': 0, 's02': 1, 's03': 0})).all()
    x2, df2 = load_slices(vols, image_size=16, slice_range=(10, 14), step=2)
    assert df2['slice'].tolist() == [10, 12] * 3
    p = make_protocol(df, 0, n_val=0.0, n_test=0.34, verbose=False)
    assert p.groupby('subject')['set'].nunique().max() == 1

def test_volumes_bad_inputs(tmp_path, capsys):
    root = make_mri(tmp_path/'mri')
    write_nifti(root/'volumes'/'s04_T1.nii.gz', np.full((8, 8, 8), np.nan))
    (root/'labels.csv').write_text('subject,label\r\ns01,0\r\ns02,1\r\ns03,0\r\ns04,1\r\n')
    vols = load_volumes(root/'volumes', root/'labels.csv')
    raises(lambda: load_slices(vols, 16), 's04_T1.nii.gz', 'NaN')
    x, df = load_slices(vols, 16, on_error='skip')
    assert set(df['subject']) == {'s01', 's02', 's03'} and 's04_T1.nii.gz' in capsys.readouterr().out
    write_nifti(root/'volumes'/'s05_T1.nii.gz', brain_volume())
    raises(lambda: load_volumes(root/'volumes', root/'labels.csv'), 's05_T1.nii.gz', 'no row')
    (root/'labels.csv').write_text('subject,label\ns01,0\ns02,1\ns03,0\ns04,1\ns05,0\ns06,1\n')
    raises(lambda: load_volumes(root/'volumes', root/'labels.csv'), "'s06'", 'no volume')
    write_nifti(tmp_path/'c'/'flat.nii.gz', np.ones((8, 8, 8)))
    raises(lambda: load_slices(load_volumes(tmp_path/'c'), 16), 'flat.nii.gz', 'constant')
    raises(lambda: load_volumes(tmp_path/'empty_dir_that_does_not_exist'), 'no NIfTI')

def test_slice_pngs(tmp_path):
    for sub, lab in [('normal', 'a'), ('abnormal', 'b')]:
        for k in (3, 4): write_png(tmp_path/'sl'/sub/f'{lab}__{k:03d}.png')
    df = load_slice_pngs(tmp_path/'sl'); tidy(df)
    assert df['subject'].tolist() == ['b', 'b', 'a', 'a'] and df['label'].tolist() == [1, 1, 0, 0] and df['slice'].tolist() == [3, 4, 3, 4]
    (tmp_path/'lab.csv').write_text('subject,label\na,1\n')
    raises(lambda: load_slice_pngs(tmp_path/'sl', tmp_path/'lab.csv'), "['b']")

# ---------------------------------------------------------------- protocol

def test_protocol_sizes_disjoint_seeded():
    rng = np.random.default_rng(1)
    n = 400
    df = pd.DataFrame(dict(subject=[f's{i // 3}' for i in range(n)], label=(rng.random(n) < 0.25).astype(int), split='train'))
    df['label_name'] = df['label'].map({0: 'healthy', 1: 'sick'})
    p = make_protocol(df, seed=3, n_b=100, n_a=40, n_val=20, n_test=30, verbose=False)
    assert p.groupby('subject')['set'].nunique().max() == 1
    c = p.groupby(['set', 'label']).size()
    assert 100 <= c['B', 0] <= 102 and 'B' not in p.loc[p['label'] == 1, 'set'].values
    assert 20 <= c['val', 0] <= 23 and 20 <= c['val', 1] <= 23 and 30 <= c['test', 1] <= 33 and 40 <= c['A', 1] <= 43
    assert p['set'].tolist() == make_protocol(df, seed=3, n_b=100, n_a=40, n_val=20, n_test=30, verbose=False)['set'].tolist()
    raises(lambda: make_protocol(df, n_val=1.5, verbose=False), 'n_val', err=ConfigError)
    raises(lambda: make_protocol(df.drop(columns='subject'), verbose=False), 'subject')

def test_protocol_prints_counts(capsys):
    df = pd.DataFrame(dict(subject=[f's{i}' for i in range(50)], label=[0] * 35 + [1] * 15, split='train'))
    df['label_name'] = df['label'].map({0: 'healthy', 1: 'sick'})
    make_protocol(df, 0)
    out = capsys.readouterr().out
    assert 'healthy' in out and 'sick' in out and 'total' in out and 'B' in out and 'val' in out
