"""Build a topology in Python (:class:`TopologyBuilder`), validated like a YAML file (pure)."""
from __future__ import annotations

from typing import Any, Optional

from .loader import validate
from .schema import NodeSpec, Topology

__all__ = ["TopologyBuilder"]


class TopologyBuilder:
    """Build a topology in Python; the same keywords and merge rules as the YAML files.

    Example (equivalent to ``topologies/two_node.yaml``)::

        t = (TopologyBuilder("two_node")
             .network("lan")
             .instance("VI_1", state="BACKUP", interface="eth0", virtual_router_id=51,
                       advert_int=1, virtual_ipaddress=["lan+200/24"])
             .node("a", eth0="lan", instances={"VI_1": {"priority": 150}})
             .node("b", eth0="lan", instances={"VI_1": {"priority": 100}})
             .client("client", eth0="lan")
             .build())

    Every method returns the builder; :meth:`build` validates and raises
    :class:`lab.errors.TopologyError` exactly like :func:`load` (source ``"<builder>"``).
    """

    def __init__(self, name: str, description: str = ""):
        self.data: dict[str, Any] = {"name": name, "description": description, "networks": {}, "nodes": {}}

    def network(self, name: str, subnet: Optional[str] = None, prefixlen: Optional[int] = None) -> "TopologyBuilder":
        spec: dict[str, Any] = {}
        if subnet:
            spec["subnet"] = subnet
        if prefixlen:
            spec["prefixlen"] = prefixlen
        self.data["networks"][name] = spec
        return self

    def keepalived(self, release: str) -> "TopologyBuilder":
        """The keepalived release of every node that names none (a version such as ``"2.3.4"`` or a Debian suite;
        lab.releases); a node's own is ``node(..., keepalived="2.1.5")``."""
        self.data["keepalived"] = release
        return self

    def global_defs(self, **kw: Any) -> "TopologyBuilder":
        self.data.setdefault("global_defs", {}).update(kw)
        return self

    def script(self, name: str, **kw: Any) -> "TopologyBuilder":
        """A shared ``vrrp_script`` (fields of :class:`VrrpScript`)."""
        self.data.setdefault("vrrp_scripts", {})[name] = kw
        return self

    def track_file(self, name: str, **kw: Any) -> "TopologyBuilder":
        """A shared ``track_file`` (fields of :class:`VrrpTrackFile`)."""
        self.data.setdefault("vrrp_track_files", {})[name] = kw
        return self

    def instance(self, name: str, **kw: Any) -> "TopologyBuilder":
        """A shared ``vrrp_instance`` (fields of :class:`VrrpInstance`)."""
        self.data.setdefault("vrrp_instances", {})[name] = kw
        return self

    def sync_group(self, name: str, group: list[str], **kw: Any) -> "TopologyBuilder":
        self.data.setdefault("vrrp_sync_groups", {})[name] = {"group": group, **kw}
        return self

    def node(self, name: str, kind: str = "keepalived", *, instances: Optional[dict[str, Any]] = None,
             scripts: Optional[dict[str, Any]] = None, hosts: Optional[dict[str, int]] = None,
             **fields_or_interfaces: Any) -> "TopologyBuilder":
        """A node. Keyword arguments naming an interface map it to a network (``eth0="lan"``);
        other keywords are :class:`NodeSpec` fields (``config_template=...``, ``global_defs={...}``,
        ``keepalived="2.1.5"``: the node's release)."""
        spec: dict[str, Any] = {"kind": kind, "interfaces": {}}
        for k, v in fields_or_interfaces.items():
            if k in NodeSpec.model_fields:
                spec[k] = v
            else:
                spec["interfaces"][k] = {"network": v, **({"host": hosts[k]} if hosts and k in hosts else {})}
        if instances:
            spec["vrrp_instances"] = instances
        if scripts:
            spec["vrrp_scripts"] = scripts
        self.data["nodes"][name] = spec
        return self

    def client(self, name: str, **interfaces: str) -> "TopologyBuilder":
        return self.node(name, "client", **interfaces)

    def build(self) -> Topology:
        """Validate (raises TopologyError naming the field path, value and what is allowed)."""
        return validate(self.data, "<builder>")
