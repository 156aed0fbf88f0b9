"bench/bench.py's configurations: the equal-method row is the release's method at the same shape, each lever row one lever on"
import sys
from pathlib import Path
import pytest
sys.path.insert(0, str(Path(__file__).resolve().parents[1]/'bench'))
import bench
from anomalypro.core import preset

config_of = bench.config_of

@pytest.mark.parametrize('spec', ['cpu@64', 'wide@64', 'cpu@128', 'cpu@64:restore_fraction=0.5'])
def test_equal_method(spec):
    p, eq = config_of(spec), config_of(bench.equal_method(spec))
    shape = bench.SHAPE + bench.EXECUTION
    assert {k: getattr(eq, k) for k in shape} == {k: getattr(p, k) for k in shape}   # same size, widths, execution
    paper = preset('paper')
    diff = {k for k in paper.to_dict() if getattr(eq, k) != getattr(paper, k)}
    assert diff <= set(shape)                      # otherwise exactly the paper's method: no lever on
    assert eq.upsample == 'transpose' and eq.lambda_restore == 0

def test_levers():
    lv = bench.levers('cpu@64')
    assert set(lv) == {'upsample', 'lambda_restore'}                 # the cpu preset's levers that change the work
    eq, p = config_of(bench.equal_method('cpu@64')), config_of('cpu@64')
    for name, spec in lv.items():
        c = config_of(spec)
        changed = {k for k in eq.to_dict() if getattr(c, k) != getattr(eq, k)}
        assert changed <= set(bench.WORK_LEVERS[name]) and name in changed
        assert all(getattr(c, k) == getattr(p, k) for k in bench.WORK_LEVERS[name])
    assert bench.levers(bench.equal_method('cpu@64')) == {}            # the release's method has none

def test_specs_round_trip():
    assert config_of('quick@32:jit_compile=off').jit_compile == 'off'      # a string, not YAML's False
    for spec in ('cpu@64', 'quick@32', 'paper@128'):
        assert config_of(bench.equal_method(spec)).jit_compile == config_of(spec).jit_compile
    assert 'restore_fraction' in bench.levers('cpu@64:restore_fraction=0.5')['lambda_restore']
