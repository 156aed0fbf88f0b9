"Writers of small data fixtures in each dataset's real layout (used by tests/test_data_*.py)"
import struct, zlib
from pathlib import Path
import numpy as np
from PIL import Image

SHARED = Path(__file__).resolve().parents[1].parent/'shared'/'data'

def gradient(h=40, w=32, lo=10, hi=240, seed=0):
    "A non-constant uint8 test image (gradient plus a little noise)"
    rng = np.random.default_rng(seed)
    a = np.linspace(lo, hi, h * w).reshape(h, w) + rng.normal(0, 3, (h, w))
    return np.clip(a, 0, 255).astype(np.uint8)

def write_png(path, arr=None, mode=None, **kw):
    "Write `arr` (default: a gradient) as an image at `path` (format from the suffix)"
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(gradient(**kw) if arr is None else arr, *([mode] if mode else [])).save(path)
    return path

def write_dicom(path, arr, photometric='MONOCHROME2', slope=None, intercept=None, bits=16, pixel_data=True, frames=1, window=None):
    "Write a minimal valid DICOM file (uncompressed, explicit VR little endian) with pydicom"
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset(); ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.Modality = 'TEST', 'DX'
    arr = np.asarray(arr)
    ds.Rows, ds.Columns = arr.shape[-2:]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, photometric
    ds.BitsAllocated = 16 if bits > 8 else 8
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, 0
    if frames > 1: ds.NumberOfFrames = frames
    if slope is not None: ds.RescaleSlope = slope
    if intercept is not None: ds.RescaleIntercept = intercept
    if window is not None: ds.WindowCenter, ds.WindowWidth = window   # (centre, width), in rescaled units
    if pixel_data: ds.PixelData = arr.astype(np.uint16 if bits > 8 else np.uint8).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path

def write_nifti(path, vol, affine=None):
    "Write a NIfTI volume with nibabel"
    import nibabel as nib
    path = Path(path); path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(np.asarray(vol, np.float32), np.eye(4) if affine is None else affine), str(path))
    return path

def brain_volume(shape=(24, 28, 30), seed=0):
    "A toy head: an ellipsoid of textured tissue in a black background"
    rng = np.random.default_rng(seed)
    g = np.stack(np.meshgrid(*[np.linspace(-1, 1, s) for s in shape], indexing='ij'))
    inside = (g ** 2).sum(0) < 0.7
    return (inside * (100 + 30 * rng.random(shape))).astype(np.float32)

def write_png_header_only(path, width, height):
    "A PNG whose header claims width x height (a decompression-bomb header) with a tiny payload"
    def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    ihdr = struct.pack('>IIBBBBB', width, height, 1, 0, 0, 0, 0)
    data = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(b'\0' * 64)) + chunk(b'IEND', b'')
    Path(path).write_bytes(data); return Path(path)

# ---------------------------------------------------------------- dataset layouts

def make_kermany(root, n=(3, 4), test=True):
    "train|test/NORMAL|PNEUMONIA with Kermany's file names"
    root = Path(root)
    for s in (['train', 'test'] if test else ['train']):
        for i in range(n[0]): write_png(root/s/'NORMAL'/f'IM-{100 + i:04d}-0001.jpeg', seed=i)
        for i in range(n[1]):
            write_png(root/s/'PNEUMONIA'/f'person{i // 2 + 1}_{"bacteria" if i % 2 else "virus"}_{i}.jpeg', seed=10 + i)
    return root

def make_covidx(root, release='v7b', images=True):
    "A COVIDx folder: split files (V7B or the later train.txt/test.txt) and images under train/ and test/"
    root = Path(root); root.mkdir(parents=True, exist_ok=True)
    if release == 'v7b':
        train = [('5', 'a.png', 'negative', 'cohen'), ('COVID 12', 'b.jpg', 'positive', 'sirm'),
                 ('6', 'c.png', 'negative', 'rsna'), ('7', 'd.png', 'negative', 'rsna'), ('8', 'e.png', 'positive', 'cohen')]
        test = [('9', 'f.png', 'positive', 'actmed'), ('10', 'g.png', 'negative', 'actmed')]
        names = ('train_COVIDx7B.txt', 'test_COVIDx7B.txt')
    else:
        train = [('1', 'a.png', 'normal', 'rsna'), ('2', 'b.png', 'pneumonia', 'rsna'), ('3 x', 'c.png', 'COVID-19', 'sirm')]
        test = [('4', 'f.png', 'COVID-19', 'ricord'), ('5', 'g.png', 'normal', 'rsna')]
        names = ('train.txt', 'test.txt')
    for name, rows, split in [(names[0], train, 'train'), (names[1], test, 'test')]:
        (root/name).write_text(''.join(' '.join(r) + '\n' for r in rows))
        if images:
            for i, r in enumerate(rows): write_png(root/split/r[1], seed=i)
    return root

NIH_HEADER_2017 = ('Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,'
                   'OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],\n')
NIH_HEADER_2020 = ('Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,'
                   'OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]\n')

def make_nih(root, variant='2020', layout='nested', images=True, lists=True):
    "An NIH ChestX-ray14 folder: Data_Entry CSV (2017 or v2020 header), official lists, images nested or flat"
    root = Path(root); root.mkdir(parents=True, exist_ok=True)
    rows = [('00000001_000.png', 'Cardiomegaly|Effusion', 1, 'PA'), ('00000001_001.png', 'No Finding', 1, 'PA'),
            ('00000002_000.png', 'No Finding', 2, 'PA'), ('00000003_000.png', 'Hernia', 3, 'AP'),
            ('00000004_000.png', 'Mass|Nodule', 4, 'PA'), ('00000005_000.png', 'No Finding', 5, 'PA')]
    if variant == '2017':
        body = ''.join(f'{f},{l},0,{p:08d},0{50 + p}Y,M,{v},2500,2048,0.14,0.14,\n' for f, l, p, v in rows)
        (root/'Data_Entry_2017.csv').write_text(NIH_HEADER_2017 + body)
    else:
        body = ''.join(f'{f},{l},0,{p},{50 + p},F,{v},2500,2048,0.14,0.14\n' for f, l, p, v in rows)
        (root/'Data_Entry_2017_v2020.csv').write_text(NIH_HEADER_2020 + body)
    if lists:
        (root/'train_val_list.txt').write_text('00000001_000.png\n00000001_001.png\n00000003_000.png\n00000004_000.png\n')
        (root/'test_list.txt').write_text('00000002_000.png\n00000005_000.png\n')
    if images:
        for i, (f, *_ ) in enumerate(rows):
            d = root/('images_001/images' if layout == 'nested' and i < 3 else 'images_002/images' if layout == 'nested' else '.')
            write_png(d/f, seed=i)
    return root

def make_own_folders(root):
    "healthy/, mixed/, test/normal/, test/abnormal/ with SUBJECT__NNN.png slices"
    root = Path(root)
    for sub, subjects in [('healthy', ['h1', 'h2']), ('mixed', ['m1', 'm2']), ('test/normal', ['t1']), ('test/abnormal', ['t2'])]:
        for s in subjects:
            for k in range(2): write_png(root/sub/f'{s}__{k:03d}.png', seed=k)
    return root

def make_mri(root, subjects=('s01', 's02', 's03'), labels=(0, 1, 0), suffix='_T1.nii.gz'):
    "A folder of NIfTI volumes plus labels.csv (subject,label)"
    root = Path(root)
    for i, s in enumerate(subjects): write_nifti(root/'volumes'/f'{s}{suffix}', brain_volume(seed=i))
    (root/'labels.csv').write_text('subject,label\n' + ''.join(f'{s},{l}\n' for s, l in zip(subjects, labels)))
    return root
