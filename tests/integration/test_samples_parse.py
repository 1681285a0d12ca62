"""Every sample config Debian's keepalived package ships parses (read inside the node image at test time)."""
import io
import tarfile
import uuid

import pytest

from lab.kaconf.from_config import from_config
from lab.runtime.ktest import lint_image
from lab.kaconf.parse import dump, parse_file, parse_text
from lab.runtime import labels as L

SAMPLES = "/usr/share/doc/keepalived/samples"


@pytest.fixture(scope="module")
def samples(lab_docker, tmp_path_factory):
    """The samples dir, tar'ed out of a lab-labelled container of the node image (never stored in the repo)."""
    image = lint_image(lab_docker)
    labels = {**L.lab_labels(f"samples-{uuid.uuid4().hex[:8]}", "samples"), L.NODE: "samples", L.ROLE: "samples"}
    c = lab_docker.containers.create(image, entrypoint=["true"], network_mode="none", labels=labels)
    try:
        bits, _ = c.get_archive(SAMPLES)
        data = b"".join(bits)
    finally:
        c.remove(force=True)
    out = tmp_path_factory.mktemp("samples")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(out, filter="data")
    return sorted(p for p in (out / "samples").iterdir() if p.name.startswith("keepalived.conf"))


def test_the_package_ships_the_samples(samples):
    assert len(samples) >= 20, [p.name for p in samples]


def test_every_sample_parses_without_errors_and_round_trips(samples):
    for p in samples:
        cfg = parse_file(p, config_id="high")
        assert cfg.statements, p.name
        assert not [x for x in cfg.problems if x.severity == "error"], (p.name, cfg.problems)
        once = dump(cfg)
        assert dump(parse_text(once)) == once, p.name
        from_config(cfg)      # never raises


def test_vrrp_samples_give_instances_for_the_model(samples):
    by = {p.name: from_config(parse_file(p)) for p in samples}
    vrrp = by["keepalived.conf.vrrp"]
    assert set(vrrp.instances) >= {"VI_1", "VI_2"}
    assert all(i.virtual_router_id for i in vrrp.instances.values())
    sync = by["keepalived.conf.vrrp.sync"]
    assert sync.sync_groups and all(m in sync.instances for g in sync.sync_groups.values() for m in g.group)
    cond = from_config(parse_file(next(p for p in samples if p.name.endswith("conditional_conf")), config_id="low"))
    assert cond.instances["VI_0"].priority == 85          # the '@low priority 85' line
