"Image-level input tests: formats, DICOM, NIfTI, preprocessing and the image store (bad inputs: test_bad_inputs.py)"
import functools, os, time
from pathlib import Path
import numpy as np
import pytest
from anomalypro.core import DataError
from anomalypro.io import read_image, read_volume, preprocess, preprocess_cxr, to_float, to_uint8
from anomalypro.store import build_store
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

def test_dicom_window_is_applied(tmp_path):
    "A Window Center / Width is applied as a viewer applies it: values outside the window clip to black and white"
    a = np.tile(np.linspace(0, 4000, 64), (64, 1)).astype(np.uint16)
    x = read_image(write_dicom(tmp_path/'w.dcm', a, bits=12, window=(1000, 400)))[..., 0]
    below, inside, above = a < 790, (a > 850) & (a < 1150), a > 1210
    assert (x[below] == 0).all() and (x[above] == 1).all() and 0 < x[inside].min() < x[inside].max() < 1
    plain = read_image(write_dicom(tmp_path/'p.dcm', a, bits=12))[..., 0]   # no window: the full range
    assert np.allclose(plain, a / 4000, atol=1e-6)

def _pydicom_reference(ds):
    "pydicom's own decoding, with the modality and first VOI LUT for grayscale, windowed to 0..1, MONOCHROME1 inverted"
    from pydicom.pixels import apply_modality_lut, apply_voi_lut
    a = ds.pixel_array
    if a.ndim == 2: a = apply_voi_lut(apply_modality_lut(a, ds), ds, index=0)
    a = a.astype(np.float64); a = (a - a.min()) / (a.max() - a.min())
    if str(ds.get('PhotometricInterpretation')) == 'MONOCHROME1': a = 1 - a
    return a if a.ndim == 3 else a[..., None]

def test_dicom_every_transfer_syntax_of_pydicoms_test_files():
    """Every single-frame image of the DICOM test files pydicom ships (compressed ones included) reads as pydicom decodes
    it; the deliberately broken ones are refused with a one-line DataError naming the file"""
    import warnings, pydicom
    from pydicom.data import get_testdata_files
    from anomalypro.core import DataError
    decoded, refused = set(), []
    for f in get_testdata_files('*'):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            try:
                ds = pydicom.dcmread(f)
                if 'PixelData' not in ds or int(ds.get('NumberOfFrames', 1) or 1) > 1: continue
                ts = ds.file_meta.TransferSyntaxUID.name
                ref = _pydicom_reference(ds)
            except Exception: ref = None
            if ref is None or min(ref.shape[:2]) < 8 or ref.max() == ref.min() or not np.isfinite(ref).all():
                try: read_image(f)
                except DataError as e: assert Path(f).name in str(e) and '\n' not in str(e); refused.append(Path(f).name)
                continue
            x = read_image(f)
        assert x.shape == ref.shape and np.allclose(x, ref, atol=1e-5), f
        decoded.add(ts)
    for ts in ('JPEG Baseline (Process 1)', 'JPEG Extended (Process 2 and 4)', 'JPEG-LS Lossless Image Compression',
               'JPEG-LS Lossy (Near-Lossless) Image Compression', 'JPEG 2000 Image Compression', 'JPEG 2000 Image Compression (Lossless Only)',
               'RLE Lossless', 'Explicit VR Big Endian', 'Deflated Explicit VR Little Endian'):
        assert ts in decoded, f"no {ts} file decoded"
    assert any(t.startswith('JPEG Lossless') for t in decoded) and 'MR_truncated.dcm' in refused
