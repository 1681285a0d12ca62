"""kalab check tells what keepalived -t says of the files before it runs them (newcomer finding: a misspelt
keyword passed the check without a word). keepalived ignores an unknown keyword and runs with the default
(keepalived -t: "Unknown keyword 'advert_intt'"), so the check says so, names the file and line, and runs the
files as they are."""
import shutil
from pathlib import Path

import pytest

from lab.cli.check import _keepalived_says
from lab.cli.common import err_console
from lab.topology.from_configs import topology_from_configs

pytestmark = pytest.mark.integration
PAIR = Path(__file__).resolve().parents[2] / "topologies" / "configs" / "prod_pair"


def test_a_misspelt_keyword_is_named_with_its_file_and_line_and_a_clean_pair_gets_no_note(tmp_path, lab_docker):
    shutil.copytree(PAIR, tmp_path / "pair")
    web = tmp_path / "pair" / "conf.d" / "vi_web.conf"
    lines = web.read_text().splitlines()
    n = next(i for i, ln in enumerate(lines) if ln.strip() == "advert_int 1")
    lines[n] = lines[n].replace("advert_int", "advert_intt")
    web.write_text("\n".join(lines) + "\n")
    bad = topology_from_configs([(tmp_path / "pair" / "lb1.conf", "lb1"), (tmp_path / "pair" / "lb2.conf", "lb2")])
    with err_console.capture() as cap:
        _keepalived_says(bad, lab_docker)
    said = cap.get()
    assert f"vi_web.conf:{n + 1}" in said and "Unknown keyword 'advert_intt'" in said, said
    assert "(lb1)" in said and "(lb2)" in said
    good = topology_from_configs([(PAIR / "lb1.conf", "lb1"), (PAIR / "lb2.conf", "lb2")])
    with err_console.capture() as cap:
        _keepalived_says(good, lab_docker)
    assert cap.get() == ""
