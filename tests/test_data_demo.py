"The synthetic lesions and the built-in offline demo dataset"
import socket, time
import numpy as np
import pytest
from anomalypro.lesions import add_lesions, foreground_mask
from anomalypro.demo import demo_dataset, get_cache_dir
from anomalypro.io import to_float

def _head(S=64):
    yy, xx = np.mgrid[:S, :S]
    return np.clip(((yy - S/2) ** 2 / (0.44*S) ** 2 + (xx - S/2) ** 2 / (0.34*S) ** 2 < 1) * 0.5 + 0.04 * np.sin(xx / 3), 0, 1).astype(np.float32)

def test_lesions_inside_anatomy_deterministic_varied():
    head = _head(); fg = foreground_mask(head)
    areas, signs = [], set()
    for s in range(30):
        out, m = add_lesions(head, s)
        assert m.any() and not (m & ~fg).any() and out.min() >= 0 and out.max() <= 1
        assert np.array_equal(add_lesions(head, s)[0], out)
        areas.append(m.sum()); signs.add(np.sign((out - head)[m].mean()))
        assert np.abs(out - head)[~fg].max() < 0.05    # background untouched
    assert max(areas) > 3 * min(areas) and signs == {-1.0, 1.0}
    # textured: the lesion is not flat
    out, m = add_lesions(head, 0, n=1, texture=0.5, radius=(0.1, 0.1))
    assert out[m].std() > 0.01

def test_lesions_custom_foreground_and_empty():
    head = _head(); fg = np.zeros_like(head, bool); fg[20:40, 20:40] = True
    _, m = add_lesions(head, 1, foreground=fg)
    assert m.any() and not (m & ~fg).any()
    out, m = add_lesions(np.zeros((32, 32), np.float32), 0)
    assert not m.any() and not out.any()

def test_demo_offline_cached_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv('ANOMALYPRO_CACHE', str(tmp_path/'cache'))
    def no_network(*a, **k): raise OSError('network disabled in this test')
    monkeypatch.setattr(socket.socket, 'connect', no_network)
    assert get_cache_dir() == tmp_path/'cache'
    d = demo_dataset(32, n_subjects=24, slices_per_subject=4, seed=1, verbose=False)
    assert len(list((tmp_path/'cache').glob('demo-32px-*.npz'))) == 1
    assert d.images.shape == (96, 32, 32, 1) and d.images.dtype == np.uint8 and d.masks.dtype == bool
    f = d.frame
    assert f['subject'].nunique() == 24 and f.groupby('subject')['set'].nunique().max() == 1
    assert set(f['set']) == {'B', 'A', 'val', 'test'} and (f.loc[f['set'] == 'B', 'label'] == 0).all()
    assert ((d.masks.reshape(len(f), -1).any(1)) == (f['label'] == 1)).all()
    assert f.loc[f['set'] == 'A', 'label'].nunique() == 2     # A is mixed
    x = to_float(d.images); assert -1 <= x.min() and x.max() <= 1
    e = demo_dataset(32, n_subjects=24, slices_per_subject=4, seed=1, use_cache=False, verbose=False)
    assert np.array_equal(e.images, d.images) and np.array_equal(e.masks, d.masks) and e.frame.equals(d.frame)
    g = demo_dataset(32, n_subjects=24, slices_per_subject=4, seed=2, verbose=False)
    assert not np.array_equal(g.images, d.images)

def test_demo_default_64px_builds_fast(tmp_path):
    t = time.time()
    d = demo_dataset(64, cache_dir=tmp_path, verbose=False)
    built = time.time() - t
    t = time.time(); again = demo_dataset(64, cache_dir=tmp_path, verbose=False); loaded = time.time() - t
    assert d.images.shape == (1600, 64, 64, 1) and built < 60 and loaded < 2
    assert np.array_equal(again.images, d.images) and again.frame.equals(d.frame)
    print(f"demo 64 px: built in {built:.1f} s, loaded from the cache in {loaded:.2f} s")
