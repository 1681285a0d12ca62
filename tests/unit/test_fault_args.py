"""Fault parameters from CLI words (`kalab fault NODE KIND key=value ...`): typed, clear errors."""
import pytest

from lab.errors import LabError
from lab.nemesis import _convert, kinds


@pytest.mark.parametrize("kind,words,message", [
    ("rogue", ["priority=abc"], "fault rogue: priority='abc': input should be a valid integer"),
    ("delay", ["ms=lots"], "(write ms=<float>)"),
    ("drop-vrrp", ["direction"], "'direction' is not KEY=VALUE; parameters are direction=..., peer=..."),
    ("drop-vrrp", ["nope=1"], "no parameter 'nope'"),
])
def test_bad_words_are_one_clear_sentence(kind, words, message):
    with pytest.raises(LabError) as e:
        kinds()[kind].from_args(None, "b", words)      # rejected before the fault touches a lab
    assert message in str(e.value)


def test_values_convert_to_the_parameter_type():
    assert _convert("rogue", "priority", "250", int) == 250
    assert _convert("delay", "ms", "2.5", float) == 2.5
    assert _convert("x", "flag", "yes", bool) is True
    assert _convert("x", "name", "eth0", str) == "eth0"
