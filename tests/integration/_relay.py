"""A relay in front of the engine's unix socket, for tests that need the engine somewhere else: behind
another unix socket (to make it "go away" for one run only) or at a TCP address on loopback (a remote
engine as the lab sees one: ``DOCKER_HOST=tcp://127.0.0.1:PORT``). Traffic stays on this host."""
import socket
import threading


class Relay:
    """Accepts on ``srv`` and relays every connection to the unix socket ``target``; :meth:`close` cuts
    every connection at once."""

    def __init__(self, srv: socket.socket, target: str):
        self.target = target
        self.srv = srv
        self.srv.listen(64)
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @classmethod
    def unix(cls, path: str, target: str) -> "Relay":
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        return cls(s, target)

    @classmethod
    def tcp(cls, target: str) -> "Relay":
        """On 127.0.0.1, a free port (``.port``)."""
        s = socket.socket(socket.AF_INET)
        s.bind(("127.0.0.1", 0))
        return cls(s, target)

    @property
    def port(self) -> int:
        return self.srv.getsockname()[1]

    def _accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            u = socket.socket(socket.AF_UNIX)
            u.connect(self.target)
            with self.lock:
                self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.srv.close()
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
