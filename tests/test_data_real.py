"Loader tests on the real public data beside the repository (../shared/data); each skips with a reason when absent"
import functools, time
from pathlib import Path
import numpy as np
import pytest
from anomalypro.datasets import (load_covidx, read_covidx_split, covidx_protocol, load_nih, load_kermany, load_volumes,
                                 load_slices, HEALTHYGAN_LISTS, NIH_FINDINGS)
from anomalypro.protocol import make_protocol
from anomalypro.io import preprocess_cxr, read_volume
from anomalypro.store import build_store

DATA = Path(__file__).resolve().parents[1].parent/'shared'/'data'

def need(sub):
    p = DATA/sub
    if not p.exists(): pytest.skip(f"real data not found at {p} (../shared/data beside the repository)")
    return p

def test_covidx_v7b_every_line():
    root = need('covidx')
    for name, n in [('train_COVIDx7B.txt', 15_464), ('test_COVIDx7B.txt', 200)]:
        lines = [l for l in (root/name).read_text().splitlines() if l.strip()]
        df = read_covidx_split(root/name)
        assert len(df) == len(lines) == n
        assert (df['label_name'].isin(['positive', 'negative'])).all()
        # split from the right: the rejoined fields give back every line exactly
        assert (df['subject'] + ' ' + df['filename'] + ' ' + df['label_name'] + ' ' + df['source']).tolist() == [l.strip() for l in lines]
    df = load_covidx(root, check_files=False)
    tr, te = df[df['split'] == 'train'], df[df['split'] == 'test']
    assert (tr['label'] == 0).sum() == 13_794 and (tr['label'] == 1).sum() == 1_670
    assert (te['label'] == 0).sum() == 100 and (te['label'] == 1).sum() == 100
    assert tr['subject'].str.contains(' ').sum() == 1_182   # as the data README says (and 17 in test)

def test_healthygan_lists_are_v7b_subsets():
    root = need('covidx/healthygan-split').parent
    sizes = dict(train_pos=1_570, train_neg_mixed=3_663, train_neg=10_031, test_pos=100, test_neg=100)
    df = load_covidx(root, check_files=False)
    for name, n in sizes.items():
        names = [l for l in (root/'healthygan-split'/f'{name}.txt').read_text().split() if l]
        assert len(names) == len(set(names)) == n
        rows = df[df['healthygan_list'] == name]
        assert len(rows) == n and set(rows['filename']) == set(names)
        assert (rows['label'] == int(name.endswith('pos'))).all()
        assert (rows['split'] == ('test' if name.startswith('test') else 'train')).all()
    c = df.groupby(['set', 'label']).size().to_dict()
    assert c == {('A', 0): 3_663, ('A', 1): 1_570, ('B', 0): 10_031, ('val', 0): 100, ('val', 1): 100,
                 ('test', 0): 100, ('test', 1): 100}
    # the seeded stand-in split with the same sizes, when the lists are absent
    p = covidx_protocol(df.drop(columns=['set', 'healthygan_list']), seed=0, verbose=False)
    used = p[p['set'] != 'unused']   # 1 training image of a patient who is also in the official test set
    assert used.groupby('subject')['set'].nunique().max() == 1 and (p['set'] == 'unused').sum() == 1
    c = p.groupby(['set', 'label']).size()
    assert c['test', 0] == 100 and c['test', 1] == 100 and abs(c['B', 0] - 10_031) < 50 and abs(c['A', 1] - 1_570) < 10

def test_nih_counts():
    root = need('nih-cxr14')
    t = time.time(); df = load_nih(root, check_files=False)
    assert len(df) == 67_310 and (df['label_name'] == 'No Finding').sum() == 39_302 and (df['label'] == 0).sum() == 39_302
    assert (df[NIH_FINDINGS].sum(axis=1) > 0).sum() == 67_310 - 39_302
    assert len(load_nih(root, views=None, check_files=False)) == 112_120
    p = make_protocol(df, 0, verbose=False)
    assert p.groupby('subject')['set'].nunique().max() == 1 and (p.loc[p['set'] == 'B', 'label'] == 0).all()
    print(f"NIH: load + protocol {time.time() - t:.1f} s")

def test_ixi_volumes_load_and_slice():
    root = need('ixi-t1/T1')
    vols = load_volumes(root)
    assert len(vols) == 148 and (vols['label'] == 0).all()
    v = read_volume(vols['path'][0])
    assert v.shape == (90, 120, 120) and v.dtype == np.float32   # 120x120x90 (PSR) reoriented to RAS
    x, df = load_slices(vols.iloc[::15], image_size=64, slice_range=(0.3, 0.7), step=2)
    assert x.shape[1:] == (64, 64, 1) and len(df) == len(x) and df['subject'].nunique() == 10
    assert -1 <= x.min() and x.max() <= 1 and (x > -0.9).mean() > 0.2   # brain fills much of the slice

def test_kermany_loads_and_store_speed(tmp_path):
    root = need('kermany')
    df = load_kermany(root)
    # the official training folders (1,341 normal, 3,875 pneumonia) and the official test split (234, 390)
    assert (df['label'] == 0).sum() == 1_575 and (df['label'] == 1).sum() == 4_265
    test = df[df['split'] == 'test']
    assert len(test) == 624 and (test['label'] == 0).sum() == 234 and (df['split'] == 'train').sum() == 5_216
    p = make_protocol(df, 0, verbose=False)
    # 170 of the test split's patients also have images in train/ (the benchmark's names, e.g. person1): those
    # images are left unused, so that no test patient is trained or validated on
    used = p[p['set'] != 'unused']
    assert used.groupby('subject')['set'].nunique().max() == 1
    assert (p.loc[p['set'] == 'unused', 'subject'].isin(p.loc[p['set'] == 'test', 'subject'])).all()
    assert set(p.loc[p['split'] == 'test', 'set']) == {'test'}              # the official test split is the test set
    assert not (p.loc[p['split'] == 'train', 'set'] == 'test').any()       # and nothing carved from train/ joins it
    fn = functools.partial(preprocess_cxr, image_size=64, channels=1)
    t = time.time(); st = build_store(df['path'], fn, cache_path=tmp_path/'kermany64', progress=False)
    dt = time.time() - t
    t = time.time(); again = build_store(df['path'], fn, cache_path=tmp_path/'kermany64', progress=False)
    dt2 = time.time() - t
    assert st.images.shape == (5_840, 64, 64, 1) and not st.skipped and again.from_cache
    print(f"Kermany store at 64 px: {len(st) / dt:.0f} images/s built ({dt:.1f} s), cached load {dt2:.2f} s")

def test_ixi_foreground_keeps_every_slice_with_tissue():
    root = need('ixi-t1/T1')
    vols = load_volumes(root).iloc[[0, 74, 147]]
    _, fg = load_slices(vols, image_size=32, slice_range='foreground')
    _, slab = load_slices(vols, image_size=32, slice_range=(0.35, 0.7))
    for s in vols['subject']:
        kf, ks = fg.loc[fg['subject'] == s, 'slice'].tolist(), slab.loc[slab['subject'] == s, 'slice'].tolist()
        print(f"{s}: 'foreground' keeps {len(kf)}/120 slices ({kf[0]}..{kf[-1]}), "
              f"(0.35, 0.7) {len(ks)} ({ks[0]}..{ks[-1]})")
        assert len(kf) > 2 * len(ks) and set(ks) <= set(kf)              # the slab and far more: 82-89% of the 120
        assert kf == list(range(kf[0], kf[-1] + 1)) and 0.75 < len(kf) / 120 < 0.95   # one run; the vertex's scalp cut
