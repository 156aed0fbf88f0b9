"""The bad-input corpus. Each item is generated here, and its defined behaviour is asserted: accepted, with the stated
result, or refused with a `DataError` whose message names the offending file (or folder, or list) and says what is
wrong. One row per item in `CORPUS`; `test_one_store_of_the_whole_image_corpus` then feeds every image item to one
image store, as a data set with a few bad files among good ones would be."""
import functools, warnings
from pathlib import Path
import numpy as np, pytest
from PIL import Image
from anomalypro.core import DataError
from anomalypro.io import read_image, read_volume, safe_path, preprocess_cxr, pil_to_array
from anomalypro.store import build_store
from anomalypro.datasets import load_covidx, read_covidx_split, load_nih, load_kermany, load_folders, load_volumes
from anomalypro.pipeline import check_images
from fixtures_data import (gradient, write_png, write_dicom, write_nifti, write_png_header_only, brain_volume,
                           make_covidx, make_kermany, make_own_folders, make_mri)

CORPUS = {}   # item -> (make, strings the DataError must contain, check of an accepted result)

def refused(name, *message):
    "A corpus item that must raise `DataError` containing every string of `message` (the file's name first)"
    def deco(make): CORPUS[name] = (make, message, None); return make
    return deco

def accepted(name, check):
    "A corpus item that must be read, its result passing `check`"
    def deco(make): CORPUS[name] = (make, (), check); return make
    return deco

# ---------------------------------------------------------------- images

@refused('truncated JPEG', 'cut.jpg', 'truncated')
def _(t):
    p = write_png(t/'full.jpg', gradient(64, 64))
    (t/'cut.jpg').write_bytes(p.read_bytes()[:p.stat().st_size // 2])
    return lambda: read_image(t/'cut.jpg')

def _alpha_ok(r):
    rgb, grey = r
    assert rgb.shape == (16, 16, 3) and grey.shape == (16, 16, 1)
    assert np.allclose(rgb[0, 0], 200/255) and np.allclose(rgb[15, 0], 200/255 * 128/255)   # composited on black

@accepted('PNG with alpha (composited on black)', _alpha_ok)
def _(t):
    a = np.zeros((16, 16, 4), np.uint8); a[..., :3] = 200; a[:8, :, 3] = 255; a[8:, :, 3] = 128
    p = write_png(t/'a.png', a)
    return lambda: (read_image(p), read_image(p, channels=1))

@accepted('LA and palette PNGs with transparency', lambda r: r == ((16, 16, 1), (16, 16, 3)))
def _(t):
    la = write_png(t/'la.png', np.dstack([gradient(16, 16), np.full((16, 16), 255, np.uint8)]), 'LA')
    p = Image.fromarray(gradient(16, 16)).convert('P'); p.info['transparency'] = 0; p.save(t/'p.png', transparency=0)
    return lambda: (read_image(la).shape, read_image(t/'p.png').shape)

def _12bit_ok(x): assert np.isclose(x.max(), 1.0) and np.isclose(x[0, 0], 0) and len(np.unique(x)) > 200  # not cut to 8 bits

@accepted('12-bit values in a 16-bit PNG (scaled by their bit range)', _12bit_ok)
def _(t): return lambda: read_image(write_png(t/'a12.png', np.linspace(0, 4095, 256).reshape(16, 16).astype(np.uint16)))

def _16bit_ok(r):
    mode, full, half = r
    assert mode.startswith('I;16') and np.isclose(full.max(), 1.0) and np.isclose(half[-1, -1, 0], 1.0)

@accepted('16-bit PNG', _16bit_ok)
def _(t):
    a16 = np.linspace(0, 65535, 256).reshape(16, 16).astype(np.uint16)
    p, h = write_png(t/'a16.png', a16), write_png(t/'h.png', a16 // 2)
    return lambda: (Image.open(p).mode, read_image(p), read_image(h))

@accepted('CMYK JPEG (converted to RGB)', lambda x: x.shape == (16, 16, 3) and x.dtype == np.float32)
def _(t):
    a = np.zeros((16, 16, 4), np.uint8); a[..., 0] = np.linspace(0, 255, 16)[None]
    Image.fromarray(a, 'CMYK').save(t/'c.jpg')
    return lambda: read_image(t/'c.jpg')

@refused('1x1 image', 'one.png', '1x1')
def _(t): return lambda: read_image(write_png(t/'one.png', np.zeros((1, 1), np.uint8)))

@refused('image below min_size', 'small.png', 'min_size')
def _(t): return lambda: read_image(write_png(t/'small.png', gradient(4, 30)))

@refused('decompression bomb (20000 x 20000 header, tiny file)', 'bomb.png', 'decompression bomb')
def _(t): return lambda: read_image(write_png_header_only(t/'bomb.png', 20_000, 20_000))

@refused("decompression-bomb warning size (10000 x 10000 header)", 'warn.png', 'decompression bomb')
def _(t): return lambda: read_image(write_png_header_only(t/'warn.png', 10_000, 10_000))

@refused('image over max_pixels', 'big.png', 'max_pixels')
def _(t): return lambda: read_image(write_png(t/'big.png', gradient(64, 64)), max_pixels=1000)

@refused('text file named .png', 'x.png', 'not a readable image')
def _(t): (t/'x.png').write_text('hello'); return lambda: read_image(t/'x.png')

@refused('missing file', 'nope.png', 'not found')
def _(t): return lambda: read_image(t/'nope.png')

@refused('constant image', 'flat.png', 'constant')
def _(t): return lambda: read_image(write_png(t/'flat.png', np.full((16, 16), 9, np.uint8)))

@accepted('constant image where allowed', lambda x: x.max() == pytest.approx(9/255))
def _(t): return lambda: read_image(write_png(t/'flat.png', np.full((16, 16), 9, np.uint8)), allow_constant=True)

@refused('unsupported image mode', 'odd.tif', "unsupported image mode 'RGBa'")
def _(t): return lambda: pil_to_array(Image.new('RGBa', (16, 16)), 'odd.tif')

@refused('DICOM without pixel data', 'empty.dcm', 'no pixel data')
def _(t): return lambda: read_image(write_dicom(t/'empty.dcm', np.zeros((16, 16)), pixel_data=False))

@refused('corrupt DICOM', 'bad.dcm', 'DICOM')
def _(t):
    (t/'bad.dcm').write_bytes(b'\0' * 128 + b'DICM' + b'\x02\x00garbage')
    def read():
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')   # pydicom warns while failing to parse the garbage
            return read_image(t/'bad.dcm')
    return read

# ---------------------------------------------------------------- volumes

@refused('NIfTI full of NaN', 'nan.nii.gz', 'NaN')
def _(t): return lambda: read_volume(write_nifti(t/'nan.nii.gz', np.full((8, 8, 8), np.nan)))

def _part_nan(t):
    v = brain_volume(); v[0, 0, 0] = np.nan
    p = write_nifti(t/'part.nii.gz', v)
    def read():
        with pytest.warns(UserWarning, match='part.nii.gz'): return read_volume(p)   # a warning names the file
    return read
accepted('NIfTI with a few NaN voxels (zeroed, with a warning)', lambda v: np.isfinite(v).all())(_part_nan)

@refused('constant NIfTI', 'c.nii', 'constant volume')
def _(t): return lambda: read_volume(write_nifti(t/'c.nii', np.full((8, 8, 8), 3.)))

@refused('corrupt NIfTI', 'broken.nii.gz', 'not a readable NIfTI')
def _(t): (t/'broken.nii.gz').write_bytes(b'\x1f\x8b\x08garbage'); return lambda: read_volume(t/'broken.nii.gz')

# ---------------------------------------------------------------- paths

@refused('symlink that escapes the data root', 'ok.png', 'escapes the data root')
def _(t):
    (t/'root').mkdir(); (t/'root'/'ok.png').symlink_to(write_png(t/'secret.png'))
    return lambda: safe_path(t/'root', 'ok.png')

@refused("'..' path in a list", '../secret.png', 'list.txt', 'escapes')
def _(t): (t/'root').mkdir(); return lambda: safe_path(t/'root', '../secret.png', source='list.txt')

@accepted('symlink that stays inside the data root', lambda p: p.name == 'alias.png')
def _(t):
    (t/'root'/'alias.png').parent.mkdir(); (t/'root'/'alias.png').symlink_to(write_png(t/'root'/'real.png'))
    return lambda: safe_path(t/'root', 'alias.png')

@refused('symlink escaping from a data set folder', 'h9__000.png', 'escapes')
def _(t):
    root = make_own_folders(t/'own'); (root/'healthy'/'h9__000.png').symlink_to(write_png(t/'elsewhere.png'))
    return lambda: load_folders(root)

@refused("split-file entry escaping the root", '../../x', 'escapes', 'train_COVIDx7B.txt')
def _(t):
    root = make_covidx(t/'covidx')
    with open(root/'train_COVIDx7B.txt', 'a') as f: f.write('99 ../../x negative cohen\n')
    return lambda: load_covidx(root)

# ---------------------------------------------------------------- tables and lists

@refused('CSV missing a column', 'Data_Entry_2017_v2020.csv', "missing column(s) ['View Position']")
def _(t):
    (t/'nih').mkdir(); (t/'nih'/'Data_Entry_2017_v2020.csv').write_text('Image Index,Finding Labels,Patient ID\na.png,No Finding,1\n')
    return lambda: load_nih(t/'nih', check_files=False)

@refused('labels CSV missing a column', 'labels.csv', "missing column(s) ['subject']")
def _(t):
    (t/'labels.csv').write_text('subj,label\na,0\n')
    return lambda: load_volumes(make_mri(t/'mri'), t/'labels.csv')

def _crlf_ok(r):
    df, plain = r
    assert len(df) == 7 and df['subject'][0] == '5' and df['source'][0] == 'cohen' and df['path'][0].endswith('train/a.png')
    assert df.drop(columns='path').equals(plain.drop(columns='path'))   # read exactly like the plain file

@accepted('split file with Windows line endings and a byte-order mark', _crlf_ok)
def _(t):
    root, plain = make_covidx(t/'covidx'), make_covidx(t/'plain')
    text = (root/'train_COVIDx7B.txt').read_text()
    (root/'train_COVIDx7B.txt').write_bytes(b'\xef\xbb\xbf' + text.replace('\n', '\r\n').encode() + b'\r\n\r\n')
    return lambda: (load_covidx(root), load_covidx(plain))

@refused('split file with a malformed line', 'train.txt:2', 'expected')
def _(t):
    (t/'train.txt').write_text('1 a.png normal rsna\njust-two fields\n')
    return lambda: read_covidx_split(t/'train.txt')

# ---------------------------------------------------------------- folders and arrays

@refused('empty folder', 'mixed', 'empty')
def _(t):
    root = make_own_folders(t/'own')
    for p in (root/'mixed').iterdir(): p.unlink()
    return lambda: load_folders(root)

@refused('empty optional folder', 'val/normal', 'empty')
def _(t):
    root = make_own_folders(t/'own'); (root/'val'/'normal').mkdir(parents=True)
    return lambda: load_folders(root)

@refused('empty class folder', 'PNEUMONIA', 'empty')
def _(t):
    root = make_kermany(t/'k', test=False)
    for p in (root/'train'/'PNEUMONIA').iterdir(): p.unlink()
    return lambda: load_kermany(root)

@refused('data set folder without its layout', 'nothing', 'no train/')
def _(t): return lambda: load_kermany(t/'nothing')

@refused('training images with NaN', 'healthy set B', 'NaN')
def _(t): return lambda: check_images(np.full((2, 8, 8, 1), np.nan, np.float32), 'healthy set B')

@refused('empty training set', 'mixed set A', 'no images')
def _(t): return lambda: check_images(np.zeros((0, 8, 8, 1), np.uint8), 'mixed set A')

@pytest.mark.parametrize('name', list(CORPUS))
def test_bad_input(name, tmp_path):
    make, message, check = CORPUS[name]
    read = make(tmp_path)
    if check is None:
        with pytest.raises(DataError) as e: read()
        for m in message: assert m in str(e.value), str(e.value)
    else:
        result = read()
        assert check(result) in (None, True), result

# ---------------------------------------------------------------- all images at once

IMAGES = {'a.png': ('ok', None), 'a16.png': ('ok', None), 'c.jpg': ('ok', None), 'good.png': ('ok', None),
          'cut.jpg': ('bad', 'truncated'), 'one.png': ('bad', '1x1'), 'bomb.png': ('bad', 'decompression bomb'),
          'x.png': ('bad', 'not a readable image'), 'empty.dcm': ('bad', 'no pixel data'), 'nope.png': ('bad', 'not found')}

def test_one_store_of_the_whole_image_corpus(tmp_path, capsys):
    t = tmp_path
    for name in ('PNG with alpha (composited on black)', '16-bit PNG', 'CMYK JPEG (converted to RGB)', 'truncated JPEG',
                 '1x1 image', 'decompression bomb (20000 x 20000 header, tiny file)', 'text file named .png',
                 'DICOM without pixel data'):
        read = CORPUS[name][0](t)
        try: read()   # writes the file
        except DataError: pass
    write_png(t/'good.png')
    files = [t/n for n in IMAGES]
    fn = functools.partial(preprocess_cxr, image_size=16)
    st = build_store(files, fn, on_error='skip', workers=2, progress=False)
    assert st.images.shape == (4, 16, 16, 1) and st.kept.tolist() == [0, 1, 2, 3]        # the four good ones
    assert [Path(p).name for p, _ in st.skipped] == [n for n, (k, _) in IMAGES.items() if k == 'bad']
    for p, why in st.skipped: assert Path(p).name in why and IMAGES[Path(p).name][1] in why, why
    assert 'skipped 6 of 10' in capsys.readouterr().out
    with pytest.raises(DataError, match='cut.jpg'): build_store(files, fn, progress=False)   # strict: the first bad file
