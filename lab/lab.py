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
import ipaddress
import threading
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Optional

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")   # its reaper image cannot be pulled here

from .errors import LabError, LabTimeout, TopologyError, UnknownName
from .history import Event, History
from .kaconf.render import render_node, vip_addresses
from .timers import MARGIN, STARTUP_ALLOWANCE, master_down_interval, skew_time  # noqa: F401 (re-exported)
from .topology import Topology, load

#: A labelled volume mounted in every node: the journal of lab-level events (node lifecycle,
#: faults) of labs that outlive their process (``kalab up``), so later commands see them.
JOURNAL_DIR = "/var/lib/kalab/shared"
JOURNAL = f"{JOURNAL_DIR}/journal.jsonl"
JOURNAL_KINDS = ("node", "fault", "note")
#: vrrp_script wrapper in the node image; lets the nemesis force a script's result (lab.nemesis.services).
SCRIPT_WRAPPER = "/usr/local/sbin/kalab-check"


class Lab:
    """A running topology.

    Args:
        topology: a :class:`Topology`, or a path to a YAML file.
        keep: mark the lab to survive its process (``kalab up``); removed by ``kalab down``/``prune``.
        lab_id: reuse an id (default: random 8 hex digits).
    Raises (from :meth:`start`):
        EngineError, ImageError, SubnetError, TopologyError, ConfigError: with a message naming the fix.
    """

    def __init__(self, topology: Topology | str | Path, *, keep: bool = False, lab_id: Optional[str] = None,
                 say: Callable[[str], None] = lambda m: None, capture: bool = True):
        self.topology = topology if isinstance(topology, Topology) else load(topology)
        self.keep = keep
        self.id = lab_id or secrets.token_hex(4)
        self.say = say
        self.history = History()
        self.nodes: dict[str, "Node"] = {}
        self.networks: dict[str, object] = {}
        self.subnets: dict[str, ipaddress.IPv4Network] = {}
        self.docker = None
        self.image: Optional[str] = None
        self.started_at: Optional[float] = None
        self._atexit = False
        #: faults applied and not yet healed (objects with apply()/heal(); see lab.nemesis)
        self.faults: list = []
        self._journal_pending: list[str] = []
        self._replaying = threading.local()
        #: record VRRP adverts (lab.runtime.capture) from start to stop
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

        self.docker = ensure_engine(install=False)
        reaped = reap_orphans(self.docker)
        if reaped:
            self.say(f"removed {len(reaped)} leftover lab(s) of crashed runs: {', '.join(reaped)}")
        self.image = ensure_node_image(self.docker)
        if not self.keep and not self._atexit:
            atexit.register(self.stop)
            self._atexit = True
        labels = L.lab_labels(self.id, self.topology.name, self.keep)
        self.say(f"lab {self.id}: starting topology {self.topology.name}")
        net_labels = {**labels, L.T0: repr(self.history.t0),
                      L.TOPOLOGY_JSON: self.topology.model_dump_json(exclude_none=True),
                      L.TOPOLOGY_SOURCE: str(Path(self.topology.source).resolve()) if self.topology.source
                      and self.topology.source != "<builder>" else ""}
        self.history.append("note", text=f"lab {self.id} starting topology {self.topology.name}")
        for name, spec in self.topology.networks.items():
            net, subnet = create_network(self.docker, f"kalab-{self.id}-{name}", net_labels, name, spec.subnet, spec.prefix())
            self.networks[name], self.subnets[name] = net, subnet
        self.docker.volumes.create(f"kalab-{self.id}-shared", labels=labels)
        if self.keep:
            self.history.listeners.append(self._journal)
        self._watch_deaths(labels)
        hosts = self.topology.host_numbers()
        with ThreadPoolExecutor(max_workers=8) as pool:
            futs = {n: pool.submit(self._create_node, n, hosts, labels) for n in self.topology.nodes}
            for n, f in futs.items():
                self.nodes[n] = f.result()
        self.started_at = time.monotonic()
        if self.capture:
            self._start_captures()
        return self

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

    def _start_captures(self) -> None:
        """Record VRRP adverts on every lab network; a missing capture is noted, not fatal."""
        from .runtime.capture import start_capture
        for net in self.networks:
            try:
                c = start_capture(self, net)
                self.captures.append(c)
                self.history.append("note", text=f"capturing VRRP adverts on {net} ({c.path}: {c.where})")
            except Exception as e:
                self.history.append("note", text=f"no advert capture on {net}: {e}")

    def _create_node(self, name: str, hosts: dict, labels: dict[str, str]) -> "Node":
        from docker.types import EndpointConfig
        from testcontainers.core.container import DockerContainer

        from .runtime import labels as L
        from .runtime.node import CAPS, Node

        spec = self.topology.nodes[name]
        addrs = {itf: self.subnets[i.network].network_address + hosts[(name, itf)]
                 for itf, i in spec.interfaces.items()}
        itfs = list(spec.interfaces.items())
        first_net = self.networks[itfs[0][1].network].name
        dc = DockerContainer(self.image)
        dc.with_name(f"kalab-{self.id}-{name}")
        dc.with_volume_mapping(f"kalab-{self.id}-shared", JOURNAL_DIR, "rw")
        dc.with_envs(KALAB_NODE=name, KALAB_ROLE=spec.kind, KALAB_NGINX="1" if spec.runs_nginx() else "0",
                     KALAB_IFACES=" ".join(f"{itf}={a}" for itf, a in addrs.items()))
        dc.with_kwargs(
            hostname=name, cap_add=CAPS, labels={**labels, L.NODE: name, L.ROLE: spec.kind},
            network=first_net, detach=True,
            networking_config={first_net: EndpointConfig(self.docker.api._version, ipv4_address=str(addrs[itfs[0][0]]),
                                                   aliases=[name])},
        )
        if spec.kind == "keepalived":
            conf = render_node(self.topology, name, self.subnets, script_wrapper=SCRIPT_WRAPPER)
            dc.with_copy_into_container(conf.encode(), "/etc/keepalived/keepalived.conf")
        dc.start()
        container = dc.get_wrapped_container()
        for itf, i in itfs[1:]:
            self.networks[i.network].connect(container, ipv4_address=str(addrs[itf]), aliases=[name])
        node = Node(name, spec.kind, container, addrs, self.history)
        self.history.append("node", node=name, action="start")
        node.follow_events()
        return node

    def _journal(self, ev: Event) -> None:
        """Append a lab-level event to the shared journal (through any running node)."""
        import json
        import shlex
        if ev.kind not in JOURNAL_KINDS or getattr(self._replaying, "on", False):
            return
        self._journal_pending.append(json.dumps({"t": ev.t, "kind": ev.kind, "data": ev.data}, default=str))
        text = "\n".join(self._journal_pending)
        for n in list(self.nodes.values()):          # before any node runs, lines wait in the buffer
            if n.status() == "running" and n.exec(f"printf '%s\\n' {shlex.quote(text)} >> {JOURNAL}").ok:
                self._journal_pending.clear()
                return

    def follow_journal(self) -> None:
        """Stream the shared journal (faults and node events written by other processes) into the history."""
        import json
        import threading

        from .runtime.node import stream_lines

        def pump(node):
            r = node.container.exec_run(["tail", "-n", "0", "-F", "-s", "0.05", JOURNAL], stream=True)
            for line in stream_lines(r.output):
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                self._replaying.on = True        # do not write it back (this thread only)
                try:
                    self.history.append(d["kind"], t=d["t"], **d["data"])
                finally:
                    self._replaying.on = False

        for n in self.nodes.values():
            if n.status() == "running":
                threading.Thread(target=pump, args=(n,), daemon=True, name="kalab-journal").start()
                return

    def _load_journal(self) -> None:
        import json
        for n in self.nodes.values():
            text = n.read_file_any_state(JOURNAL)
            if text is None:
                continue
            for line in text.splitlines():
                try:
                    d = json.loads(line)
                except ValueError:
                    continue
                self.history.append(d["kind"], t=d["t"], **d["data"])
            return

    @property
    def capabilities(self):
        """What this host's kernel and engine allow (:mod:`lab.runtime.probe`), probed lazily once."""
        from .runtime.probe import probe_lab
        return probe_lab(self)

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
    def attach(cls, lab_id: Optional[str] = None) -> "Lab":
        """Rebuild a Lab object for a running lab from its labels (``kalab status`` etc.).

        Args:
            lab_id: the lab's id; None picks the only running lab.
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
        if lab_id is None:
            # without --lab only labs started by `kalab up` (kept) are candidates: a test's
            # lab or someone else's run is never picked by accident
            kept = [i for i, lb in ids.items() if lb.get(L.KEEP) == "1"]
            if len(kept) != 1:
                raise LabError("no lab started by `kalab up` is running; start one with `kalab up TOPOLOGY`"
                               if not kept else f"{len(kept)} labs are running ({', '.join(kept)}); "
                               f"choose one with --lab ID")
            lab_id = kept[0]
        elif lab_id not in ids:
            raise LabError(f"no lab {lab_id!r}; running: {', '.join(ids) or 'none'}")
        nets = docker.networks.list(filters={"label": f"{L.LAB}={lab_id}"})
        if not nets:
            raise LabError(f"lab {lab_id} has no network left; remove it with `kalab down --lab {lab_id}`")
        nl = nets[0].attrs["Labels"]
        topo = validate(json.loads(nl[L.TOPOLOGY_JSON]), nl.get(L.TOPOLOGY_SOURCE) or "<label>")
        lab = cls(topo, keep=nl.get(L.KEEP) == "1", lab_id=lab_id)
        lab.docker = docker
        for n in nets:
            lab.networks[n.attrs["Labels"][L.NETWORK]] = n
            lab.subnets[n.attrs["Labels"][L.NETWORK]] = ipaddress.IPv4Network(n.attrs["Labels"][L.SUBNET])
        hosts = topo.host_numbers()
        for c in docker.containers.list(all=True, filters={"label": f"{L.LAB}={lab_id}"}):
            name = c.labels[L.NODE]
            spec = topo.nodes[name]
            addrs = {itf: lab.subnets[i.network].network_address + hosts[(name, itf)] for itf, i in spec.interfaces.items()}
            lab.nodes[name] = Node(name, spec.kind, c, addrs, lab.history)
        lab.image = next(iter(lab.nodes.values())).container.image.tags[0] if lab.nodes else None
        for n in lab.keepalived_nodes():
            n.load_events()
        lab._load_journal()
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

    # ------------------------------------------------------------------ timers
    def instance_config(self, node: str, instance: str):
        return self.topology.instances(node)[instance]

    def master_down_interval(self, node: str, instance: str, priority: Optional[int] = None) -> float:
        """Master down interval (s) of ``node`` as a backup of ``instance`` (RFC 3768/5798 §6.1)."""
        i = self.instance_config(node, instance)
        return master_down_interval(priority or i.priority, i.advert_int, i.version or 2)

    def skew_time(self, node: str, instance: str, priority: Optional[int] = None) -> float:
        """Skew time (s) of ``node`` for ``instance`` (RFC 3768/5798 §6.1)."""
        i = self.instance_config(node, instance)
        return skew_time(priority or i.priority, i.advert_int, i.version or 2)

    def convergence_deadline(self, instance: str) -> float:
        """Seconds to allow for first convergence: the longest MDI of any node plus start allowance."""
        mdis = [self.master_down_interval(n, instance) for n in self.topology.keepalived_nodes()
                if instance in self.topology.instances(n)]
        delay = max((self.instance_config(n, instance).preempt_delay or 0) for n in self.topology.keepalived_nodes()
                    if instance in self.topology.instances(n))
        return STARTUP_ALLOWANCE + max(mdis) + delay

    # ------------------------------------------------------------------ waiting
    def _settled_master(self, h: History, instance: str) -> Optional[str]:
        """The single MASTER of ``instance`` if no live node should still preempt it, else None.

        A BACKUP with a higher last-reported priority and preemption on would take over
        (man 5 keepalived.conf: preempt is the default; nopreempt disables it), so the
        election is not settled while one exists.
        """
        states = h.states(instance)
        masters = [n for n, s in states.items() if s == "MASTER"]
        if len(masters) != 1:
            return None
        m = masters[0]
        prios = h.priorities(instance)
        for n, s in states.items():
            if n == m or s != "BACKUP" or instance not in self.topology.instances(n):
                continue
            cfg = self.topology.instances(n)[instance]
            if not cfg.nopreempt and prios.get(n, cfg.priority) > prios.get(m, 0):
                return None
        return m

    def _raise_if_died(self, h: History, since: float) -> None:
        """Raise LabError if a node's keepalived exited on its own and has not been started again.

        Called inside waits, so a config keepalived refuses (it exits at once) fails the wait
        immediately with the node's last log lines instead of at the deadline.
        """
        down: dict[str, Event] = {}
        for e in h.events("node"):
            if e["action"] == "died":
                down[e["node"]] = e
            elif e["action"] == "start":
                down.pop(e["node"], None)
        if down:
            n, e = next(iter(down.items()))
            raise LabError(f"keepalived on node {n} exited by itself (exit code {e.get('exit_code')}); "
                           f"its last log lines:\n{e.get('log_tail', '')}")
        return None

    def wait_for_master(self, instance: str, timeout: Optional[float] = None) -> "Node":
        """Wait until exactly one node is MASTER of ``instance`` and no BACKUP should preempt it.

        Args:
            timeout: seconds; default :meth:`convergence_deadline`.
        Returns: the master's Node.
        Raises: LabTimeout (an AssertionError) with the history tail and node logs.
        """
        timeout = self.convergence_deadline(instance) if timeout is None else timeout
        since = time.monotonic()
        causes = [e.t for e in self.history.events() if e.kind in ("node", "fault")]
        m = self.history.wait_for(lambda h: self._raise_if_died(h, since) or self._settled_master(h, instance), timeout,
                                  clock_start=max(causes) if causes else since)
        if not m:
            raise self.timeout_error(f"no single settled MASTER of {instance} within {timeout:.2f} s "
                                     f"(states now: {self.history.states(instance)})")
        return self.nodes[m]

    def keepalived_started(self, node: str, timeout: float = STARTUP_ALLOWANCE) -> Optional[float]:
        """Wait until keepalived in ``node``'s current run logs ``Startup complete``; return when (host s).

        The protocol's clocks of a freshly started node (its first master down interval, man 5
        keepalived.conf ``state``) run from here, so a test that must show that nothing happens
        after a start can wait from this moment instead of a start-up allowance.
        Returns None when keepalived exited instead (a config it refuses): it runs no instance.
        Raises: LabTimeout (with logs) if neither happens within ``timeout`` seconds.
        """
        n = self.node(node)
        t = n.wait_for_log(r"Startup complete", timeout)
        if t is None and n.status() != "running":
            return None
        if t is None:
            raise self.timeout_error(f"keepalived on {node} did not log 'Startup complete' within {timeout:.1f} s")
        self.history.append("node", t=t, node=node, action="ready")
        return t

    def wait_for_transition(self, instance: str, state: str, *, node: Optional[str] = None,
                            since: Optional[float] = None, timeout: Optional[float] = None) -> Event:
        """Wait for a notify_fifo transition of ``instance`` to ``state`` after ``since``.

        Args:
            node: only this node's transitions (default any).
            since: history time (monotonic s); default now.
            timeout: seconds; default the longest master down interval + MARGIN.
        Returns: the first matching Event (its ``t`` is when keepalived reported it).
        """
        since = time.monotonic() if since is None else since
        if timeout is None:
            timeout = max(self.master_down_interval(n, instance) for n in self.topology.keepalived_nodes()
                          if instance in self.topology.instances(n)) + MARGIN
        match = {"instance": instance, "state": state, **({"node": node} if node else {})}
        ev = self.history.wait_for(lambda h: next(iter(h.events("state", since=since, **match)), None),
                                   max(0.0, since + timeout - time.monotonic()), clock_start=since)
        if ev is None:
            who = node or "any node"
            raise self.timeout_error(f"{who} did not report {instance} -> {state} within {timeout:.2f} s")
        return ev

    # ------------------------------------------------------------------ observing
    def vip_holders(self, instance: str) -> list[str]:
        """Nodes that have every VIP of ``instance`` on an interface (inside view, ``ip -j addr``).

        Recorded in the history as a ``vip`` event.
        """
        vips = self.vips(instance)
        live = [n for n in self.keepalived_nodes() if n.status() == "running"]
        with ThreadPoolExecutor(max_workers=max(1, len(live))) as pool:
            addrs = dict(zip([n.name for n in live], pool.map(lambda n: n.ipv4_addresses(), live)))
        holders = sorted(name for name, a in addrs.items()
                         if all(any(i.ip == v for l in a.values() for i in l) for v in vips))
        self.history.append("vip", instance=instance, holders=holders, view="inside")
        return holders

    def http_get_vip(self, instance: str, via: Optional[str] = None) -> Optional[str]:
        """Ask the VIP over HTTP from a client node; returns the answering node's name or None.

        Recorded in the history as a ``vip`` event (outside view).
        """
        cl = self.nodes[via] if via else self.client.node
        who = cl.http_get(self.vip(instance))
        self.history.append("vip", instance=instance, holders=[who] if who else [], view="outside")
        return who

    # ------------------------------------------------------------------ judging (lab.checks, lab.model)
    @property
    def check(self) -> "Checks":
        """Checks bound to this lab (:class:`lab.checks.Checks`): ``lab.check.assert_master("b", "VI_1")``."""
        from .checks import Checks
        return Checks.for_lab(self)

    def dump_json(self, node: str) -> dict:
        """keepalived's JSON dump on ``node``: {instance: InstanceDump(state, effective_priority, ...)}."""
        from .runtime.dump import dump_json
        return dump_json(self.node(node))

    async def wait_for(self, predicate: Callable[[History], object], timeout: float):
        """``await lab.wait_for(pred, timeout)``: :meth:`History.wait_for` in a thread, for async tests."""
        import asyncio
        return await asyncio.to_thread(self.history.wait_for, predicate, timeout)

    async def run(self, fn: Callable, *args, **kw):
        """``await lab.run(node.kill)``: a blocking (docker) call in a thread, for async tests."""
        import asyncio
        return await asyncio.to_thread(fn, *args, **kw)

    def set_script(self, node: str, script: str, ok: bool) -> float:
        """Make the vrrp_script ``script`` on ``node`` succeed (``ok``) or fail from now on.

        Lab topologies' convention: a script whose command mentions ``/run/kalab/ok-NAME`` succeeds
        while that file exists (``test -e /run/kalab/ok-chk`` starts failing); any other fails while
        ``/run/kalab/fail-NAME`` exists (``test ! -e /run/kalab/fail-chk``). Recorded as a ``fault``
        event named ``script`` (the election model reads it). Returns the history time of the flip.
        """
        cmd = self.topology.scripts(node)[script].script
        if f"/run/kalab/ok-{script}" in cmd:
            path, present = f"/run/kalab/ok-{script}", ok
        else:
            path, present = f"/run/kalab/fail-{script}", not ok
        self.node(node).exec(f"touch {path}" if present else f"rm -f {path}", check=True)
        return self.history.append("fault", name="script", action="apply", target=node, script=script, ok=ok,
                                   detail=f"{script} {'OK' if ok else 'KO'}", fault_kind="set-script",
                                   model=[{"input": "script_result", "node": node, "script": script, "ok": ok}]).t

    def timeout_error(self, message: str) -> LabTimeout:
        """A LabTimeout whose text carries the history tail and each keepalived node's log tail."""
        parts = [message, "", "history (last 25 events):", self.history.tail(25)]
        for n in self.keepalived_nodes():
            parts += ["", f"--- {n.name} log tail ---", n.logs(tail=15).rstrip()]
        return LabTimeout("\n".join(parts))


class Client:
    """A client node seen through the lab: ``lab.client.http_get_vip("VI_1")``.

    Every attribute not defined here is the underlying :class:`~lab.runtime.node.Node`'s.
    """

    def __init__(self, lab: Lab, node: "Node"):
        self.lab, self.node = lab, node

    def __getattr__(self, name: str):
        return getattr(self.node, name)

    def http_get_vip(self, instance: str) -> Optional[str]:
        """HTTP GET the first VIP of ``instance``; the answering node's name, or None (recorded)."""
        return self.lab.http_get_vip(instance, via=self.node.name)

    def arp_vip(self, instance: str) -> Optional[str]:
        """The MAC address that answers ARP for the first VIP of ``instance`` (or None)."""
        return self.node.arp_mac(self.lab.vip(instance))

