"Image-level input tests: formats, DICOM, NIfTI, preprocessing and the image store (bad inputs: test_bad_inputs.py)"
import functools, os, time
import numpy as np
import pytest
from anomalypro.core import DataError
from anomalypro.io import read_image, read_volume, preprocess, preprocess_cxr, build_store, to_float, to_uint8
from fixtures_data import gradient, write_png, write_dicom, write_nifti, brain_volume

def raises(f, *match):
    with pytest.raises(DataError) as e: f()
    for m in match: assert m in str(e.value), str(e.value)
    return str(e.value)

# ---------------------------------------------------------------- formats

@pytest.mark.parametrize('ext', ['png', 'jpg', 'bmp', 'tif'])
def test_formats_read_to_unit_range(tmp_path, ext):
    p = write_png(tmp_path/f'x.{ext}')
    x = read_image(p)
    assert x.dtype == np.float32 and x.shape == (40, 32, 1) and 0 <= x.min() < x.max() <= 1
    assert read_image(p, channels=3).shape == (40, 32, 3)

# ---------------------------------------------------------------- DICOM

def test_dicom_monochrome2_16bit_rescale(tmp_path):
    a = np.arange(16 * 20, dtype=np.uint16).reshape(16, 20) * 10   # up to 3190: 12 bits
    p = write_dicom(tmp_path/'m2.dcm', a, bits=12, slope=2.0, intercept=-1024)
    x = read_image(p)
    assert x.shape == (16, 20, 1) and np.isclose(x.min(), 0) and np.isclose(x.max(), 1)
    expect = (a * 2. - 1024); expect = (expect - expect.min()) / np.ptp(expect)
    assert np.allclose(x[..., 0], expect, atol=1e-6)

def test_dicom_monochrome1_inverted(tmp_path):
    a = np.arange(256, dtype=np.uint16).reshape(16, 16)
    x1 = read_image(write_dicom(tmp_path/'m1.dcm', a, 'MONOCHROME1'))
    x2 = read_image(write_dicom(tmp_path/'m2.dcm', a, 'MONOCHROME2'))
    assert np.allclose(x1, 1 - x2) and x1[0, 0, 0] == 1

def test_dicom_8bit_and_without_extension(tmp_path):
    a = gradient(16, 16)
    p = write_dicom(tmp_path/'IMG0001', a, bits=8)
    assert read_image(p).shape == (16, 16, 1)

# ---------------------------------------------------------------- NIfTI

def test_volume_reads_raw_and_canonical(tmp_path):
    v = brain_volume()
    flip = np.diag([-1., 1, 1, 1])   # LAS on disk -> RAS in memory
    x = read_volume(write_nifti(tmp_path/'v.nii.gz', v, flip))
    assert x.dtype == np.float32 and x.shape == v.shape and np.allclose(x, v[::-1])

# ---------------------------------------------------------------- preprocessing

def test_preprocess_cxr_matches_method():
    rng = np.random.default_rng(0)
    img = rng.random((125, 100, 1)).astype(np.float32)
    out = preprocess_cxr(img, 50)
    # top 8% of 125 rows = 10 rows removed -> 115 x 100 -> central 100 x 100 (rows 17..117) -> 2x2 area mean
    crop = img[10:][7:107]
    expect = crop.reshape(50, 2, 50, 2, 1).mean((1, 3)) * 2 - 1
    assert out.shape == (50, 50, 1) and np.allclose(out, expect, atol=1e-5)
    assert preprocess(img, 50).shape == (50, 50, 1)
    assert preprocess_cxr(np.repeat(img, 3, -1), 25, channels=1).shape == (25, 25, 1)

# ---------------------------------------------------------------- store

def test_store_skip_reports_every_bad_file(tmp_path, capsys):
    good = [write_png(tmp_path/f'g{i}.png', seed=i) for i in range(5)]
    (tmp_path/'bad1.png').write_text('junk'); write_png(tmp_path/'one.png', np.zeros((1, 1), np.uint8))
    files = good[:2] + [tmp_path/'bad1.png'] + good[2:] + [tmp_path/'one.png', tmp_path/'gone.png']
    fn = functools.partial(preprocess_cxr, image_size=16)
    st = build_store(files, fn, on_error='skip', workers=2, progress=False)
    assert st.images.shape == (5, 16, 16, 1) and st.kept.tolist() == [0, 1, 3, 4, 5]
    assert [os.path.basename(p) for p, _ in st.skipped] == ['bad1.png', 'one.png', 'gone.png']
    assert all(os.path.basename(p) in r for p, r in st.skipped)
    out = capsys.readouterr().out
    assert 'skipped 3 of 8' in out and 'bad1.png' in out and 'gone.png' in out
    raises(lambda: build_store(files, fn, progress=False), 'bad1.png')

def test_store_cache_roundtrip_and_invalidation(tmp_path):
    files = [write_png(tmp_path/f'g{i}.png', seed=i) for i in range(4)]
    fn = functools.partial(preprocess_cxr, image_size=16)
    a = build_store(files, fn, cache_path=tmp_path/'c'/'s', progress=False)
    assert (tmp_path/'c'/'s.npy').exists() and (tmp_path/'c'/'s.json').exists()
    b = build_store(files, fn, cache_path=tmp_path/'c'/'s', progress=False)
    assert b.from_cache and isinstance(b.images, np.memmap) and np.array_equal(a.images, b.images)
    assert np.allclose(to_float(b.images[1]), fn(read_image(files[1], 1)), atol=1/255 + 1e-6)
    time.sleep(0.01); write_png(files[0], seed=99); os.utime(files[0], (time.time() + 5,) * 2)
    c = build_store(files, fn, cache_path=tmp_path/'c'/'s', progress=False)
    assert not c.from_cache and not np.array_equal(c.images[0], a.images[0])          # file changed: rebuilt
    assert not build_store(files[:3], fn, cache_path=tmp_path/'c'/'s', progress=False).from_cache  # list changed
    assert build_store(files[:3], fn, cache_path=tmp_path/'c'/'s', progress=False).from_cache

def test_store_channels_and_dicom(tmp_path):
    files = [write_png(tmp_path/'a.png'), write_dicom(tmp_path/'b.dcm', gradient().astype(np.uint16) * 16, bits=12)]
    st = build_store(files, functools.partial(preprocess, image_size=8), channels=3, progress=False)
    assert st.images.shape == (2, 8, 8, 3) and st.images.dtype == np.uint8

def test_uint8_convention():
    x = np.linspace(-1, 1, 511, dtype=np.float32)
    u = to_uint8(x)
    assert u[0] == 0 and u[-1] == 255 and np.abs(to_float(u) - x).max() <= 1/255 + 1e-6
