"The repository's citation and licence files: present, valid, and in step with the package"
import hashlib
from pathlib import Path
import yaml
import anomalypro

ROOT = Path(__file__).resolve().parents[1]

def test_license_is_the_declared_apache_text():
    text = (ROOT/'LICENSE').read_bytes()
    assert b'Apache License' in text[:200] and b'Version 2.0, January 2004' in text[:200]
    assert hashlib.md5(text).hexdigest() == '3b83ef96387f14655fc854ddc3c6bd57'   # the Apache Software Foundation's LICENSE-2.0.txt
    assert 'license = "Apache-2.0"' in (ROOT/'pyproject.toml').read_text()

def test_citation_cff_names_the_paper_and_this_version():
    c = yaml.safe_load((ROOT/'CITATION.cff').read_text())
    assert c['cff-version'] == '1.2.0' and c['license'] == 'Apache-2.0'
    assert str(c['version']) == anomalypro.__version__, "bump CITATION.cff's version with anomalypro.__version__"
    p = c['preferred-citation']
    assert p['title'].startswith('HealthyGAN') and p['year'] == 2022 and p['authors'][0]['family-names'] == 'Siddiquee'
    assert any('2209.01822' in i['value'] for i in p['identifiers'])
