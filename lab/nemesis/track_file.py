"""Write a number into a node's ``track_file`` (the file keepalived watches).

Documented effect (man 5 keepalived.conf, Track files): "the file will be read whenever it is
modified"; with weight 0 a non-zero value is a failure (FAULT), otherwise value x weight is added to
the priority. keepalived 2.2.7 reads the file when its writer closes it (inotify IN_CLOSE_WRITE on the
directory), so the new value counts at once. The fault writes ``value`` with one ``open, write, close``
(a shell redirection) and heal writes ``restore``: by default the value the file starts with in a lab
(``init_file VALUE``, else 0: a missing file reads as 0).

The block is found in the config that runs on the node (``/etc/keepalived/keepalived.conf``), so it
works for a user's own keepalived.conf as well as for a topology's.
"""
from __future__ import annotations

import shlex
from typing import Optional

from ..errors import LabError
from .base import Fault, node_input, register

CONFIG = "/etc/keepalived/keepalived.conf"
#: the values keepalived reads from a track file (a C int); others are ignored
INT32 = (-2**31, 2**31 - 1)


def _block(lab, target: str, name: str):
    """The ``track_file NAME`` block of the config that runs on ``target``. Raises LabError naming the
    blocks there are when there is none of that name."""
    from ..kaconf.from_config import from_text

    node = lab.node(target)
    try:
        conf = from_text(node.read_file(CONFIG), f"{target}:{CONFIG}")
    except Exception as e:               # not running, or a config the lab cannot read
        raise LabError(f"track-file: cannot read the keepalived.conf that runs on {target} ({e})") from None
    if name not in conf.track_files:
        have = ", ".join(conf.track_files) or "none"
        raise LabError(f"track-file: node {target} has no track_file block {name!r} (its track_file blocks: {have}); "
                       f"name one with file=NAME")
    return conf.track_files[name]


@register
class TrackFile(Fault):
    """Write ``value`` into the track_file ``file`` (its block name) on the node; heal writes ``restore``."""

    kind = "track-file"
    summary = ("write value=N into track_file file=NAME (the block's name); heal writes restore=N "
               "(default: its init_file value, else 0)")

    def __init__(self, lab, target, *, file: str, value: int, restore: Optional[int] = None, **kw):
        for key, v in (("value", value), ("restore", restore)):
            if v is not None and not INT32[0] <= int(v) <= INT32[1]:
                raise LabError(f"track-file: {key}={v} is outside {INT32[0]}..{INT32[1]}; keepalived 2.2.7 ignores "
                               f"such a value ('Invalid number', track_file.c) and keeps the one it had")
        blk = _block(lab, target, file)
        if restore is None:
            restore = (blk.init_value or 0) if blk.init_file else 0
        super().__init__(lab, target, file=file, value=int(value), restore=int(restore), **kw)
        self.path = blk.file

    def model_inputs(self, action: str):
        """The file holds ``value`` (apply) or ``restore`` (heal) from now on (R_TRACK_FILE)."""
        v = self.params["value" if action == "apply" else "restore"]
        return [node_input("track_file", self.target, file=self.params["file"], value=v)]

    def _write(self, value: int) -> None:
        self.node().exec(f"printf '%s\\n' {int(value)} > {shlex.quote(self.path)}", check=True)

    def _apply(self) -> str:
        self._write(self.params["value"])
        return f"{self.path} = {self.params['value']}"

    def _heal(self) -> str:
        node = self.node()
        if node.status() != "running":
            return "node not running; nothing written"
        self._write(self.params["restore"])
        return f"{self.path} = {self.params['restore']}"
