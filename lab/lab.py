"""Lab: realize a Topology on a Docker engine and observe it.

    with Lab("topologies/two_node.yaml") as lab:
        master = lab.wait_for_master("VI_1")
        t_kill = master.kill()
        ev = lab.wait_for_transition("VI_1", "MASTER", since=t_kill)
        print(ev["node"], ev.t - t_kill, lab.master_down_interval("b", "VI_1"))

Everything the lab creates carries its labels (:mod:`lab.runtime.labels`) and
is removed by :meth:`Lab.stop` (also on Ctrl-C, through ``__exit__``, and at
interpreter exit). A crashed run's leftovers are reaped by the next start.
Waits are event driven (the history's condition variable) with deadlines
derived from the protocol's timers (:mod:`lab.timers`).
"""
from __future__ import annotations


import atexit
import contextlib
import ipaddress
import threading
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from .errors import LabError, TopologyError, UnknownName  # noqa: F401
from .history import History
from .runtime.reaper import without_reaper
from .journal import JOURNAL, JOURNAL_DIR, JournalMixin  # noqa: F401
from .topology.render import render_node, vip_addresses
from .topology.user_config import config_file_digest
from .observe import Client, ObserveMixin
from .timers import MARGIN, STARTUP_ALLOWANCE  # noqa: F401 (re-exported for older imports)
from .topology import Topology, load
from .waits import WaitsMixin

if TYPE_CHECKING:  # pragma: no cover
    from .checks import Checks
    from .runtime.node import Node

#: vrrp_script wrapper in the node image; lets the nemesis force a script's result (lab.nemesis.services).
SCRIPT_WRAPPER = "/usr/local/sbin/kalab-check"


@contextlib.contextmanager
def _interrupts_wait(doing: str):
    """Within the block a Ctrl-C (or the pytest plugin's SIGTERM/SIGHUP) does not abort the removal of a
    lab half-way (that leaked containers and printed a traceback); it is noted and ignored. Only in the
    main thread, where Python runs signal handlers."""
    import signal
    import sys
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def note(signum, frame):
        sys.stderr.write(f"\nkeepalived-lab: {signal.Signals(signum).name} ignored: {doing}\n")

    saved = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


class Lab(JournalMixin, WaitsMixin, ObserveMixin):
    """A running topology.

    Args:
        topology: a :class:`Topology`, or a path to a YAML file.
        keep: the lab may outlive its process (``kalab up``, ``--lab-keep-on-failure``): no removal at
            interpreter exit, and a journal for later commands. It survives its owner only once
            :meth:`mark_kept` has run; until then a crash of the owner leaves an orphan the next start
            reaps. Removed by ``kalab down``/``prune``.
        lab_id: reuse an id (default: random 8 hex digits).
    Raises (from :meth:`start`):
        EngineError, ImageError, SubnetError, TopologyError, ConfigError: with a message naming the fix.
    """

    def __init__(self, topology: Topology | str | Path, *, keep: bool = False, lab_id: Optional[str] = None,
                 say: Callable[[str], None] = lambda m: None, capture: bool | str = True,
                 keepalived: Optional[str] = None):
        self.topology = topology if isinstance(topology, Topology) else load(topology)
        if keepalived and not self.topology.keepalived:
            # the run's release (--lab-keepalived) for the nodes that name none, kept in the topology so that
            # what the lab labels and records (kalab attach, kalab judge) says which release each node ran
            from .releases import release
            self.topology = self.topology.model_copy(update={"keepalived": release(keepalived).version})
        self.keep = keep
        self.id = lab_id or secrets.token_hex(4)
        self.say = say
        self.history = History()
        self.nodes: dict[str, "Node"] = {}
        self.networks: dict[str, object] = {}
        self.subnets: dict[str, ipaddress.IPv4Network] = {}
        self.docker = None
        self.image: Optional[str] = None
        self._images: dict[str, str] = {}
        self.releases: dict = {}
        self.started_at: Optional[float] = None
        self._atexit = False
        #: faults applied and not yet healed (objects with apply()/heal(); see lab.nemesis)
        self.faults: list = []
        self._journal_pending: list[str] = []
        self._journal_lock = threading.Lock()
        self._replaying = threading.local()
        #: {node: keepalived.conf} of nodes that run a user's own config (the judge reads them)
        self.configs: dict[str, str] = {}
        #: record VRRP adverts: True in this process (lab.runtime.capture) from start to stop; "sidecar" in a
        #: labelled container for the lab's whole life, into the journal (lab.runtime.sidecar; kalab up)
        self.capture = capture
        self.captures: list = []

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "Lab":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "Lab":
        """Create networks and containers, start them, follow their events. Returns self."""
        from .runtime import labels as L
        from .runtime.cleanup import reap_orphans
        from .runtime.engine import ensure_engine
        from .runtime.images import ensure_node_image
        from .runtime.network import create_network

        t_begin = time.monotonic()
        #: where the start's time went: phase -> seconds since start() began (bench/ reads it)
        self.start_phases: dict[str, float] = {}

        def phase(name: str) -> None:
            self.start_phases[name] = round(time.monotonic() - t_begin, 4)
        self._phase = phase
        self.docker = ensure_engine(install=False)
        phase("engine")
        reaped = reap_orphans(self.docker)
        phase("reap")
        if reaped:
            self.say(f"removed {len(reaped)} leftover lab(s) of crashed runs: {', '.join(reaped)}")
        from .releases import release
        from .runtime.images import ensure_extra_image
        #: {node: keepalived release} (lab.releases): the node's own, the topology's, or the default
        self.releases = self.topology.releases()
        default = release(self.topology.keepalived)
        bases = {r.version: ensure_node_image(self.docker, release=r) for r in {default, *self.releases.values()}}
        #: the image of the lab's default release (the capture sidecar, the engine probe)
        self.image = bases[default.version]
        #: each node's image: its release's, with its extra Debian packages (NodeSpec.packages) if any; all are
        #: built before any node starts
        self._images = {n: ensure_extra_image(self.docker, bases[self.releases[n].version], spec.packages)
                        for n, spec in self.topology.nodes.items()}
        phase("image")
        if not self.keep and not self._atexit:
            atexit.register(self.stop)
            self._atexit = True
        from .runtime.owner import me
        labels = L.lab_labels(self.id, self.topology.name, me(self._engine_knows))
        self._labels = labels
        self.say(f"lab {self.id}: starting topology {self.topology.name}")
        net_labels = {**labels, L.T0: repr(self.history.t0),
                      L.TOPOLOGY_JSON: self.topology.model_dump_json(exclude_none=True),
                      L.TOPOLOGY_SOURCE: str(Path(self.topology.source).resolve()) if self.topology.source
                      and self.topology.source != "<builder>" else ""}
        self.history.append("note", text=f"lab {self.id} starting topology {self.topology.name}")
        for name, spec in self.topology.networks.items():
            net, subnet = create_network(self.docker, f"kalab-{self.id}-{name}", net_labels, name, spec.subnet,
                                         spec.prefix(), say=self.say, subnet6=spec.subnet6,
                                         gateway_host=self.topology.gateway_host(name))
            self.networks[name], self.subnets[name] = net, subnet
        phase("networks")
        self.docker.volumes.create(f"kalab-{self.id}-shared", labels=labels)
        phase("volume")
        early = None
        from .runtime.capture import host_path_possible
        if self.capture is True and host_path_possible():
            # before any keepalived sends (its first advert is recorded), alongside the node starts (the capture's
            # first start in a process imports scapy: seconds on a loaded machine, kept out of the start's time)
            early = threading.Thread(target=self._start_captures, kwargs={"path": "host"}, daemon=True,
                                     name=f"kalab-capture-start-{self.id}")
            early.start()
        if self.capture == "sidecar":       # before any keepalived: the first advert is recorded too
            self._start_sidecar(labels)
        if self.keep:
            self.history.listeners.append(self._journal)
        self._watch_deaths(labels)
        hosts = self.topology.host_numbers()
        with ThreadPoolExecutor(max_workers=8) as pool:
            futs = {n: pool.submit(self._create_node, n, hosts, labels) for n in self.topology.nodes}
            for n, f in futs.items():
                self.nodes[n] = f.result()
        phase("nodes")
        self.started_at = time.monotonic()
        self.history.meta.update(self.self_description())
        if early is not None:
            early.join()
        if self.capture is True:        # networks the host path could not take: the container path needs a node
            self._start_captures()
        phase("captures")
        self.history.meta["start_phases"] = self.start_phases
        return self

    def _engine_knows(self, container_id: str) -> bool:
        from docker.errors import NotFound
        try:
            self.docker.api.inspect_container(container_id)
            return True
        except NotFound:
            return False

    def mark_kept(self) -> None:
        """Let the lab outlive its owner process: create its keep marker (a labelled volume), so that
        no reaper removes it; ``kalab down``/``prune`` still do. Idempotent."""
        from .runtime import labels as L
        labels = getattr(self, "_labels", None)
        if self.docker is None or labels is None:
            raise LabError(f"lab {self.id} was not started by this process; nothing to keep")
        if self._journal in self.history.listeners:
            self.flush_journal()            # its record must be whole before this process may go
        name = f"kalab-{self.id}-keep"
        if not self.docker.api.volumes(filters={"name": name}).get("Volumes"):
            self.docker.volumes.create(name, labels=L.keep_labels(labels))
        self.keep = True

    def self_description(self) -> dict:
        """What makes this lab's history judgeable anywhere (``kalab judge``): the topology, each
        node's addresses, the node image (release), the clock and the lab's allowances."""
        import json as _json
        from .timers import MARGIN, STARTUP_ALLOWANCE
        return {"lab": self.id, "topology": _json.loads(self.topology.model_dump_json(exclude_none=True)),
                "addresses": {n: {i: str(a) for i, a in node.addresses.items()} for n, node in self.nodes.items()},
                "advert_sources": {n: sorted(node.advert_sources()) for n, node in self.nodes.items()},
                "image": self.image, "images": dict(self._images),
                "releases": {n: r.version for n, r in self.releases.items()}, "clock": "host monotonic seconds (time.monotonic)", "configs": dict(self.configs),
                "margin": MARGIN, "startup_allowance": STARTUP_ALLOWANCE}

    def _watch_deaths(self, labels: dict[str, str]) -> None:
        """Follow the engine's container ``die`` events of this lab: a keepalived that exits by
        itself (a config it refuses) is recorded at once as a ``died`` node event."""
        import threading
        from datetime import datetime, timezone

        from .runtime import labels as L
        self._engine_events = self.docker.events(
            since=datetime.now(timezone.utc), decode=True,
            filters={"type": "container", "event": "die", "label": f"{L.LAB}={self.id}"})

        def pump():
            try:
                for ev in self._engine_events:
                    node = self.nodes.get(ev.get("Actor", {}).get("Attributes", {}).get(L.NODE, ""))
                    if node is not None:
                        node._note_unexpected_exit()
            except Exception:   # the stream is closed at stop()
                pass

        threading.Thread(target=pump, daemon=True, name=f"kalab-deaths-{self.id}").start()

    def _start_sidecar(self, labels: dict[str, str]) -> None:
        """The capture sidecar (:mod:`lab.runtime.sidecar`): adverts into the journal for the lab's lifetime."""
        from .runtime.sidecar import start_sidecar
        try:
            start_sidecar(self.docker, self.id, labels, self.image, self.networks, self.subnets,
                          f"kalab-{self.id}-shared", JOURNAL_DIR, JOURNAL)
            self.history.append("note", text="capturing VRRP adverts on every network in the capture sidecar "
                                             "(recorded in the journal for as long as the lab runs)")
        except Exception as e:
            self.history.append("note", text=f"no advert capture: {e}")

    def captured_from(self) -> Optional[float]:
        """Since when (host monotonic s) adverts are recorded on every lab network: ``-inf`` with the capture
        sidecar (started before any keepalived), the latest start of the in-process captures, None when some
        network has no capture (lab.crosscheck compares adverts only from there)."""
        if self.capture == "sidecar":
            return float("-inf")
        starts = {c.network: c.started_at for c in self.captures if c.started_at is not None}
        if not self.networks or set(starts) != set(self.networks):
            return None
        return max(starts.values())

    def flush_captures(self, t: float, timeout: float = 5.0) -> bool:
        """Wait until every advert the host captures received before host time ``t`` (s) is in the history
        (lab.runtime.capture.Capture.flush). False when some network's capture cannot say so (the container
        path, the sidecar, no capture) or did not within ``timeout`` s."""
        if self.capture == "sidecar" or not self.captures or {c.network for c in self.captures} != set(self.networks):
            return False
        return all(c.flush(t, timeout) for c in self.captures)

    def _start_captures(self, path: str = "auto") -> None:
        """Record VRRP adverts on every lab network that has no capture yet; a missing capture is noted,
        not fatal. ``path="host"`` (before the nodes exist) tries the host path only and leaves a network
        it cannot capture on to the call after the nodes (lab.runtime.capture.start_capture)."""
        from .runtime.capture import start_capture
        have = {c.network for c in self.captures}
        for net in self.networks:
            if net in have:
                continue
            try:
                c = start_capture(self.history, net, self.networks[net], self.nodes_on(net), path=path,
                                  wall_offset=self._engine_clock().wall)
                self.captures.append(c)
                self.history.append("note", text=f"capturing VRRP adverts on {net} ({c.path}: {c.where})")
            except Exception as e:
                if path != "host":
                    self.history.append("note", text=f"no advert capture on {net}: {e}")

    def _create_node(self, name: str, hosts: dict, labels: dict[str, str]) -> "Node":
        from docker.types import EndpointConfig, LogConfig
        from testcontainers.core.container import DockerContainer

        from .runtime import labels as L
        from .runtime.node import Node

        spec = self.topology.nodes[name]
        addrs = {itf: self.subnets[i.network].network_address + hosts[(name, itf)]
                 for itf, i in spec.interfaces.items()}
        addrs6 = self.topology.addresses6(name)
        itfs = list(spec.interfaces.items())
        first_net = self.networks[itfs[0][1].network].name
        dc = DockerContainer(self._images.get(name, self.image))
        dc.with_name(f"kalab-{self.id}-{name}")
        dc.with_volume_mapping(f"kalab-{self.id}-shared", JOURNAL_DIR, "rw")
        dc.with_envs(KALAB_NODE=name, KALAB_ROLE=spec.kind, KALAB_NGINX="1" if spec.runs_nginx() else "0",
                     KALAB_IFACES=" ".join(f"{itf}={a}" for itf, a in addrs.items()))
        lim = spec.limits
        dc.with_kwargs(
            mem_limit=f"{lim.memory_mib}m", memswap_limit=f"{lim.memory_mib}m", pids_limit=lim.pids,
            nano_cpus=int(lim.cpus * 1e9),
            log_config=LogConfig(type="json-file", config={"max-size": f"{lim.log_mib}m", "max-file": "2"}),
            hostname=name, cap_add=spec.cap_add, cap_drop=spec.cap_drop, labels={**labels, L.NODE: name, L.ROLE: spec.kind},
            network=first_net, detach=True,
            networking_config={first_net: EndpointConfig(self.docker.api._version, ipv4_address=str(addrs[itfs[0][0]]),
                                                   ipv6_address=str(addrs6[itfs[0][0]]) if itfs[0][0] in addrs6 else None,
                                                   aliases=[name])},
        )
        if spec.kind == "keepalived":
            conf = render_node(self.topology, name, self.subnets, script_wrapper=SCRIPT_WRAPPER)
            dc.with_copy_into_container(conf.encode(), "/etc/keepalived/keepalived.conf")
            if spec.config_template:           # the judge reads what runs (lab.election.specs.RunningView)
                self.configs[name] = conf
            if spec.config_file:               # the user's files at their own paths, byte for byte
                nc = self.topology.node_configs[name]
                for path, data in nc.files.items():
                    dc.with_copy_into_container(data, path)
                if nc.config_id != name:        # keepalived's default config id is the host name (= node name)
                    dc.with_env("KALAB_KEEPALIVED_ARGS", f"-i {nc.config_id}")
                self.configs[name] = nc.expanded
        t_issued = time.monotonic()        # a start is stamped when issued: keepalived's first report may
        with without_reaper():
            try:
                dc.start()                 # carry an earlier stamp than the engine call's return
            except Exception as e:
                from .runtime.engine import transient_start_failure
                if not transient_start_failure(e):
                    raise
                # created but not started: the engine's own wiring timed out on a loaded host; start it again
                container = self.docker.containers.get(f"kalab-{self.id}-{name}")
                for attempt in range(3):
                    t_issued = time.monotonic()
                    try:
                        container.start()
                        break
                    except Exception as again:
                        if attempt == 2 or not transient_start_failure(again):
                            raise
                dc._container = container
                self.history.append("note", text=f"{name}: the engine timed out starting the container ({e}); "
                                                 "started it again")
        self._phase(f"{name}: created and started")
        container = dc.get_wrapped_container()
        for itf, i in itfs[1:]:
            self.networks[i.network].connect(container, ipv4_address=str(addrs[itf]), aliases=[name],
                                             ipv6_address=str(addrs6[itf]) if itf in addrs6 else None)
        node = Node(name, spec.kind, container, addrs, self.history, addresses6=addrs6)
        if spec.config_file:                    # a SIGHUP is judged by whether any file keepalived reads changed
            node.config_files, node.files_sha = config_file_digest(conf, self.topology.node_configs[name])
        self.history.append("node", t=t_issued, node=name, action="start", t_issued=t_issued)
        self._measure_clock(node)               # before its first stamped line is read
        node.follow_events()
        if spec.kind == "keepalived":
            node.watch_ready()
        self._phase(f"{name}: followed")
        return node

    def replace_node(self, name: str, keepalived: str, timeout: int = 10) -> tuple[float, float]:
        """Run node ``name`` on another keepalived release, as an operator's rolling upgrade does: stop it
        gracefully (SIGTERM, as ``docker stop``; SIGKILL after ``timeout`` s), remove its container and start a
        new one of the same spec, addresses and configuration on the release's image (built if needed).
        The history records the stop and the start (the model reads them as node down and node up).

        Args:
            keepalived: a version or Debian suite (lab.releases).
        Returns:
            (t_stop, t_start): host monotonic seconds when the stop and the new start were issued.
        Raises:
            UnknownRelease (a LabError) for an unknown release, ImageError when its image cannot be built.
        """
        from .releases import release
        r = release(keepalived)
        spec = self.topology.nodes[name]
        from .runtime.images import ensure_extra_image, ensure_node_image
        image = ensure_extra_image(self.docker, ensure_node_image(self.docker, release=r), spec.packages)
        old = self.nodes[name]
        t_stop = old.stop(timeout=timeout)
        old.end_follow()
        old.container.remove(force=True)
        self.history.append("note", text=f"{name}: keepalived {self.releases[name].version} -> {r.version} "
                                         f"({image})")
        spec.keepalived = r.version               # what the lab records says which release each node runs
        self.releases[name], self._images[name] = r, image
        self.nodes[name] = self._create_node(name, self.topology.host_numbers(), self._labels)
        self.history.meta.update(self.self_description())
        return t_stop, self.history.events("node", since=t_stop, node=name, action="start")[-1].t

    def _engine_clock(self):
        """The engine host's clocks against this host's (one kernel for every container): a measured node's."""
        from .runtime.clock import LOCAL
        return next((n.clock for n in self.nodes.values() if n.kind == "keepalived" and n.clock.samples), LOCAL)

    def _measure_clock(self, node: "Node") -> None:
        """On a remote engine, measure the node's clocks against this host's (lab.runtime.clock) and record
        the offset with its uncertainty; a local engine shares this host's clocks (nothing to measure)."""
        from .runtime.clock import measure
        from .runtime.network import engine_is_local
        if engine_is_local(self.docker) or node.kind != "keepalived":
            return
        node.clock = measure(node.container)
        self.history.meta.setdefault("clock_offsets", {})[node.name] = node.clock.as_dict()
        self.history.append("note", text=f"{node.name}: engine not local; container clock = host clock "
                                         f"{node.clock.mono:+.4f} s (monotonic), {node.clock.wall:+.4f} s (wall), "
                                         f"± {node.clock.uncertainty:.4f} s")

    def nodes_on(self, network: str) -> list[tuple["Node", str]]:
        """(node, interface name) of the lab's nodes attached to topology network ``network``:
        clients first (they run no keepalived, so a capture there disturbs nothing), then
        keepalived nodes, each in declaration order; nodes not created yet are left out."""
        out = []
        for name in self.topology.client_nodes() + self.topology.keepalived_nodes():
            spec = self.topology.nodes[name]
            itf = next((i for i, s in spec.interfaces.items() if s.network == network), None)
            if itf and name in self.nodes:
                out.append((self.nodes[name], itf))
        return out

    @property
    def capabilities(self):
        """What this host's kernel and engine allow (:mod:`lab.runtime.probe`), probed lazily once."""
        from .runtime.probe import probe_lab
        return probe_lab(self.docker, self.image, list(self.nodes.values()))

    def fault(self, kind: str, target: str, **params):
        """A fault of ``kind`` on node ``target`` (not applied yet): ``with lab.fault("pause", "a"): ...``.

        See :mod:`lab.nemesis` for the kinds and their parameters.
        """
        from .nemesis import make_fault
        return make_fault(self, kind, target, **params)

    def heal_all(self) -> list[str]:
        """Heal every fault still applied (newest first); returns their names. Idempotent."""
        healed = []
        for f in reversed(list(self.faults)):
            try:
                f.heal()
                healed.append(getattr(f, "name", type(f).__name__))
            except Exception as e:  # keep healing the rest; the failure is recorded
                self.history.append("note", text=f"heal of {f!r} failed: {e}")
        self.faults.clear()
        return healed

    @classmethod
    def attach(cls, lab_id: Optional[str] = None, say: Callable[[str], None] = lambda m: None) -> "Lab":
        """Rebuild a Lab object for a running lab from its labels (``kalab status`` etc.).

        Args:
            lab_id: the lab's id; None picks the caller's own kept lab (:mod:`lab.runtime.choose`).
            say: told which lab was chosen and why, when ``lab_id`` is None.
        Raises:
            LabError: no lab, or several and no id given (lists them).
        The history is rebuilt from each node's events log (timestamps are kept).
        """
        import json

        from .runtime import labels as L
        from .runtime.cleanup import lab_ids
        from .runtime.engine import ensure_engine
        from .runtime.node import Node
        from .topology import validate

        docker = ensure_engine(install=False)
        ids = lab_ids(docker)
        if lab_id is None:                  # only the caller's own kept labs (lab.runtime.choose)
            import os
            from .runtime.choose import choose_lab
            lab_id, why = choose_lab(ids, str(os.getuid()), L.project())
            say(f"lab {lab_id} ({ids[lab_id].get(L.TOPOLOGY, '?')}): {why}")
        elif lab_id not in ids:
            raise LabError(f"no lab {lab_id!r}; running: {', '.join(ids) or 'none'}")
        nets = docker.networks.list(filters={"label": f"{L.LAB}={lab_id}"})
        if not nets:
            raise LabError(f"lab {lab_id} has no network left; remove it with `kalab down --lab {lab_id}`")
        nl = nets[0].attrs["Labels"]
        topo = validate(json.loads(nl[L.TOPOLOGY_JSON]), nl.get(L.TOPOLOGY_SOURCE) or "<label>")
        lab = cls(topo, keep=ids[lab_id].get(L.KEEP) == "1", lab_id=lab_id)
        lab.docker = docker
        for n in nets:
            lab.networks[n.attrs["Labels"][L.NETWORK]] = n
            lab.subnets[n.attrs["Labels"][L.NETWORK]] = ipaddress.IPv4Network(n.attrs["Labels"][L.SUBNET])
        hosts = topo.host_numbers()
        for c in docker.containers.list(all=True, filters={"label": f"{L.LAB}={lab_id}"}):
            if c.labels.get(L.ROLE) not in ("keepalived", "client"):     # the capture sidecar
                if c.status == "running":
                    lab.capture = "sidecar"         # adverts are in the journal (lab.crosscheck compares them)
                continue
            name = c.labels[L.NODE]
            spec = topo.nodes[name]
            addrs = {itf: lab.subnets[i.network].network_address + hosts[(name, itf)] for itf, i in spec.interfaces.items()}
            lab.nodes[name] = Node(name, spec.kind, c, addrs, lab.history, addresses6=topo.addresses6(name))
        lab.releases = topo.releases()
        lab._images = {n: (node.container.image.tags or [node.container.image.id])[0] for n, node in lab.nodes.items()}
        lab.image = next(iter(lab._images.values()), None)
        running = [n for n in lab.keepalived_nodes() if n.status() == "running"]
        if running:                 # one engine host, one kernel: every node shares the measured clocks
            lab._measure_clock(running[0])
            for n in lab.keepalived_nodes():
                n.clock = running[0].clock
        for n in lab.keepalived_nodes():
            n.load_events()
        lab._load_journal()
        for name in topo.keepalived_nodes():           # what runs, for the judge (user's own configs)
            if topo.nodes[name].config_file and name in topo.node_configs:
                lab.configs[name] = topo.node_configs[name].expanded
            elif topo.nodes[name].config_template:
                try:
                    lab.configs[name] = render_node(topo, name, lab.subnets, script_wrapper=SCRIPT_WRAPPER)
                except Exception:                      # the judge then reads the topology: said in its meta
                    pass
        lab.history.meta.update(lab.self_description())
        lab.history.listeners.append(lab._journal)
        if nl.get(L.T0):
            lab.history.t0 = float(nl[L.T0])
        elif len(lab.history):
            lab.history.t0 = lab.history.events()[0].t
        return lab

    def stop(self) -> None:
        """Remove every container and network of this lab (idempotent)."""
        for c in self.captures:
            c.stop()
        self.captures = []
        if self.docker is None:
            return
        from .runtime.cleanup import remove_lab
        stream = getattr(self, "_engine_events", None)
        if stream is not None:
            stream.close()
            self._engine_events = None
        try:
            with _interrupts_wait(f"removing lab {self.id} first"):
                remove_lab(self.docker, self.id)
        finally:
            if self._atexit:
                atexit.unregister(self.stop)
                self._atexit = False

    # ------------------------------------------------------------------ access
    def node(self, name: str) -> "Node":
        """The node called ``name``. Raises KeyError listing the nodes."""
        try:
            return self.nodes[name]
        except KeyError:
            raise UnknownName(f"no node {name!r}; nodes: {', '.join(self.nodes)}") from None

    @property
    def client(self) -> "Client":
        """The first client node, with VIP-aware helpers (the outside view)."""
        names = self.topology.client_nodes()
        if not names:
            raise LabError(f"topology {self.topology.name} has no node of kind client")
        return Client(self, self.nodes[names[0]])

    def keepalived_nodes(self) -> list["Node"]:
        return [self.nodes[n] for n in self.topology.keepalived_nodes()]

    def vips(self, instance: str) -> list[ipaddress.IPv4Address]:
        """The VIP addresses of ``instance`` (from the first node that declares it)."""
        for n in self.topology.keepalived_nodes():
            if instance in self.topology.instances(n):
                return vip_addresses(self.topology, n, instance, self.subnets)
        raise KeyError(f"no VRRP instance {instance!r}; instances: {', '.join(self.topology.instance_names())}")

    def vip(self, instance: str) -> ipaddress.IPv4Address:
        """The first VIP of ``instance``."""
        return self.vips(instance)[0]

    # ------------------------------------------------------------------ judging (lab.checks)
    @property
    def check(self) -> "Checks":
        """Checks bound to this lab (:class:`lab.checks.Checks`): ``lab.check.assert_master("b", "VI_1")``."""
        from .checks import Checks
        return Checks.for_lab(self)

