"""mclient - a tiny MTA side of the milter protocol, for tests.

Used by tests/cli/conn_limits.sh: raw packets, so a test can send what
no MTA would (huge or split packets) and see exactly what comes back.
"""
import socket
import struct


def packet(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


class Conn:
    def __init__(self, path, timeout=5.0):
        """path: a unix socket path, or HOST:PORT for TCP."""
        if not path.startswith("/") and ":" in path:
            host, port = path.rsplit(":", 1)
            self.s = socket.create_connection((host, int(port)), timeout)
        else:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.connect(path)
        self.s.settimeout(timeout)

    def send(self, cmd, data=b""):
        """A milter that already closed (a refused connection) is not an
        error here: the next read() says None."""
        try:
            self.s.sendall(packet(cmd, data))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def read(self):
        """One reply (cmd, data), or None when the milter closed."""
        head = self._exact(5)
        if head is None:
            return None
        n = struct.unpack(">I", head[:4])[0]
        data = self._exact(n - 1) if n > 1 else b""
        return head[4:5], data

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.s.recv(n - len(buf))
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            buf += chunk
        return buf

    def eom_replies(self):
        """After end of message: the modifications and the final reply
        (the last item; None when the milter closed), in order."""
        got = []
        while True:
            r = self.read()
            got.append(r)
            if r is None or r[0] not in (b"h", b"i", b"m", b"-"):
                return got

    def negotiate(self, actions=0x1FF, pflags=0x1FFFFF):
        self.send(b"O", struct.pack(">III", 6, actions, pflags))
        return self.read()

    def close(self):
        self.s.close()
