import os
from pathlib import Path
import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
os.environ.setdefault('KERAS_BACKEND', 'tensorflow')
os.environ.setdefault('MPLBACKEND', 'Agg')

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent/'shared'/'data'

@pytest.fixture(scope='session')
def shared_data():
    "The real data beside the repository (../shared/data); skips the test when it is absent"
    if not SHARED_DATA.is_dir(): pytest.skip(f'real data not found at {SHARED_DATA} (see docs/reproduce.md: Experiments and data)')
    return SHARED_DATA
