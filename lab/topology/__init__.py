"""The lab topology (pure: no Docker): schema, YAML loader, Python builder, rendering a node.

schema   NetworkSpec, InterfaceSpec, NodeSpec, Topology (merge rules), resolve_address
loader   load / validate / find: YAML with line-numbered TopologyError
builder  TopologyBuilder: the same keywords from Python
render   a node's keepalived.conf (render_node, lab_facts, vip_addresses, lab_config); import
         ``lab.topology.render`` for these (not imported here, so loading a topology needs no Jinja2)

keepalived's own keyword models (VrrpInstance, VrrpScript, ..., parse_vip) live in
:mod:`lab.kaconf.schema`; they are re-exported here so ``from lab.topology import
VrrpInstance`` keeps working.
"""
from ..kaconf.schema import (LAB_REF, VIP_FLAGS, VIP_OPTS, VIP_SCOPES, Authentication, GlobalDefs, Track,
                             VrrpInstance, VrrpScript, VrrpSyncGroup, VrrpTrackFile, parse_vip)
from .builder import TopologyBuilder
from .loader import find, load, validate
from .schema import NAME, InterfaceSpec, NetworkSpec, NodeSpec, Topology, resolve_address

__all__ = ["LAB_REF", "NAME", "VIP_FLAGS", "VIP_OPTS", "VIP_SCOPES", "Authentication", "GlobalDefs", "Track",
           "VrrpInstance", "VrrpScript", "VrrpSyncGroup", "VrrpTrackFile", "parse_vip", "InterfaceSpec",
           "NetworkSpec", "NodeSpec", "Topology", "resolve_address", "TopologyBuilder", "find", "load", "validate"]
