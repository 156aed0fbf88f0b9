"Image-level input tests: formats, DICOM, NIfTI, every bad-input case, preprocessing and the image store"
import functools, os, time, warnings
import numpy as np
import pytest
from PIL import Image
from anomalypro.core import DataError
from anomalypro.io import (read_image, read_volume, safe_path, preprocess, preprocess_cxr, build_store, to_float,
                           to_uint8, _pil_to_array)
from fixtures_data import gradient, write_png, write_dicom, write_nifti, write_png_header_only, brain_volume

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

def test_png_with_alpha_composited_on_black(tmp_path):
    a = np.zeros((16, 16, 4), np.uint8); a[..., :3] = 200; a[:8, :, 3] = 255; a[8:, :, 3] = 128
    x = read_image(write_png(tmp_path/'a.png', a))
    assert x.shape == (16, 16, 3)
    assert np.allclose(x[0, 0], 200/255) and np.allclose(x[15, 0], 200/255 * 128/255)
    assert read_image(tmp_path/'a.png', channels=1).shape == (16, 16, 1)

def test_la_and_palette_with_transparency(tmp_path):
    la = np.dstack([gradient(16, 16), np.full((16, 16), 255, np.uint8)])
    assert read_image(write_png(tmp_path/'la.png', la, 'LA')).shape == (16, 16, 1)
    p = Image.fromarray(gradient(16, 16)).convert('P'); p.info['transparency'] = 0; p.save(tmp_path/'p.png', transparency=0)
    assert read_image(tmp_path/'p.png').shape == (16, 16, 3)

def test_16bit_png_scaled_by_its_bit_range(tmp_path):
    a12 = (np.linspace(0, 4095, 256).reshape(16, 16)).astype(np.uint16)
    x = read_image(write_png(tmp_path/'a12.png', a12))
    assert np.isclose(x.max(), 1.0) and np.isclose(x[0, 0], 0) and len(np.unique(x)) > 200  # not clipped to 8 bits
    a16 = (np.linspace(0, 65535, 256).reshape(16, 16)).astype(np.uint16)
    y = read_image(write_png(tmp_path/'a16.png', a16))
    assert Image.open(tmp_path/'a16.png').mode.startswith('I;16') and np.isclose(y.max(), 1.0)
    assert np.isclose(read_image(write_png(tmp_path/'h.png', a16 // 2))[-1, -1, 0], 32767/32767)

def test_cmyk_jpeg_converted(tmp_path):
    a = np.zeros((16, 16, 4), np.uint8); a[..., 0] = np.linspace(0, 255, 16)[None]
    Image.fromarray(a, 'CMYK').save(tmp_path/'c.jpg')
    x = read_image(tmp_path/'c.jpg')
    assert x.shape == (16, 16, 3) and x.dtype == np.float32

def test_unsupported_mode_named():
    raises(lambda: _pil_to_array(Image.new('RGBa', (16, 16)), 'odd.tif'), 'odd.tif', "unsupported image mode 'RGBa'")

# ---------------------------------------------------------------- bad images

def test_truncated_jpeg(tmp_path):
    p = write_png(tmp_path/'full.jpg', gradient(64, 64))
    (tmp_path/'cut.jpg').write_bytes(p.read_bytes()[:len(p.read_bytes()) // 2])
    raises(lambda: read_image(tmp_path/'cut.jpg'), 'cut.jpg', 'truncated')

def test_tiny_and_one_pixel(tmp_path):
    raises(lambda: read_image(write_png(tmp_path/'one.png', np.zeros((1, 1), np.uint8))), 'one.png', '1x1')
    raises(lambda: read_image(write_png(tmp_path/'small.png', gradient(4, 30))), 'small.png', 'min_size')

def test_decompression_bomb(tmp_path):
    raises(lambda: read_image(write_png_header_only(tmp_path/'bomb.png', 20_000, 20_000)), 'bomb.png', 'decompression bomb')
    raises(lambda: read_image(write_png_header_only(tmp_path/'warn.png', 10_000, 10_000)), 'warn.png', 'decompression bomb')
    raises(lambda: read_image(write_png(tmp_path/'big.png', gradient(64, 64)), max_pixels=1000), 'big.png', 'max_pixels')

def test_not_an_image_and_missing(tmp_path):
    (tmp_path/'x.png').write_text('hello')
    raises(lambda: read_image(tmp_path/'x.png'), 'x.png', 'not a readable image')
    raises(lambda: read_image(tmp_path/'nope.png'), 'nope.png', 'not found')

def test_constant_image(tmp_path):
    p = write_png(tmp_path/'flat.png', np.full((16, 16), 9, np.uint8))
    raises(lambda: read_image(p), 'flat.png', 'constant')
    assert read_image(p, allow_constant=True).max() == pytest.approx(9/255)

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

def test_dicom_without_pixel_data(tmp_path):
    p = write_dicom(tmp_path/'empty.dcm', np.zeros((16, 16)), pixel_data=False)
    raises(lambda: read_image(p), 'empty.dcm', 'no pixel data')

@pytest.mark.filterwarnings('ignore::UserWarning')   # pydicom warns while failing to parse the garbage
def test_corrupt_dicom(tmp_path):
    (tmp_path/'bad.dcm').write_bytes(b'\0' * 128 + b'DICM' + b'\x02\x00garbage')
    raises(lambda: read_image(tmp_path/'bad.dcm'), 'bad.dcm')

# ---------------------------------------------------------------- NIfTI

def test_volume_reads_raw_and_canonical(tmp_path):
    v = brain_volume()
    flip = np.diag([-1., 1, 1, 1])   # LAS on disk -> RAS in memory
    x = read_volume(write_nifti(tmp_path/'v.nii.gz', v, flip))
    assert x.dtype == np.float32 and x.shape == v.shape and np.allclose(x, v[::-1])

def test_volume_nan_constant(tmp_path):
    raises(lambda: read_volume(write_nifti(tmp_path/'nan.nii.gz', np.full((8, 8, 8), np.nan))), 'nan.nii.gz', 'NaN')
    raises(lambda: read_volume(write_nifti(tmp_path/'c.nii', np.full((8, 8, 8), 3.))), 'c.nii', 'constant volume')
    v = brain_volume(); v[0, 0, 0] = np.nan
    with pytest.warns(UserWarning, match='part.nii.gz'):
        assert np.isfinite(read_volume(write_nifti(tmp_path/'part.nii.gz', v))).all()
    (tmp_path/'broken.nii.gz').write_bytes(b'\x1f\x8b\x08garbage')
    raises(lambda: read_volume(tmp_path/'broken.nii.gz'), 'broken.nii.gz', 'not a readable NIfTI')

# ---------------------------------------------------------------- paths

def test_symlink_escaping_root(tmp_path):
    (tmp_path/'root').mkdir(); secret = write_png(tmp_path/'secret.png')
    (tmp_path/'root'/'ok.png').symlink_to(secret)
    raises(lambda: safe_path(tmp_path/'root', 'ok.png'), 'ok.png', 'escapes the data root')
    raises(lambda: safe_path(tmp_path/'root', '../secret.png', source='list.txt'), 'list.txt', 'escapes')
    inside = write_png(tmp_path/'root'/'real.png'); (tmp_path/'root'/'alias.png').symlink_to(inside)
    assert safe_path(tmp_path/'root', 'alias.png').name == 'alias.png'

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
