#!/usr/bin/env python3
"""Test-only xenstore daemon speaking the real xenstore wire protocol.

It listens on unix sockets (no Xen needed) so that the real libxenstore
(and the xenstore-* CLI tools built on it) can talk to it when
XENSTORED_PATH names the socket.  Standard library only.

See tests/xenstored/README.md for the full description (control
interface, guest sockets, transaction semantics, known gaps).
"""

import argparse
import errno as _errno
import json
import os
import selectors
import signal
import socket
import stat
import struct
import sys
import traceback

# ---------------------------------------------------------------------------
# Wire protocol constants (xen/io/xs_wire.h)
# ---------------------------------------------------------------------------
XS_CONTROL = 0
XS_DIRECTORY = 1
XS_READ = 2
XS_GET_PERMS = 3
XS_WATCH = 4
XS_UNWATCH = 5
XS_TRANSACTION_START = 6
XS_TRANSACTION_END = 7
XS_INTRODUCE = 8
XS_RELEASE = 9
XS_GET_DOMAIN_PATH = 10
XS_WRITE = 11
XS_MKDIR = 12
XS_RM = 13
XS_SET_PERMS = 14
XS_WATCH_EVENT = 15
XS_ERROR = 16
XS_IS_DOMAIN_INTRODUCED = 17
XS_RESUME = 18
XS_SET_TARGET = 19
XS_RESET_WATCHES = 21
XS_DIRECTORY_PART = 22

TYPE_NAMES = {
    0: "CONTROL", 1: "DIRECTORY", 2: "READ", 3: "GET_PERMS", 4: "WATCH",
    5: "UNWATCH", 6: "TRANSACTION_START", 7: "TRANSACTION_END",
    8: "INTRODUCE", 9: "RELEASE", 10: "GET_DOMAIN_PATH", 11: "WRITE",
    12: "MKDIR", 13: "RM", 14: "SET_PERMS", 15: "WATCH_EVENT", 16: "ERROR",
    17: "IS_DOMAIN_INTRODUCED", 18: "RESUME", 19: "SET_TARGET",
    21: "RESET_WATCHES", 22: "DIRECTORY_PART",
}

HDR = struct.Struct("=IIII")  # type, req_id, tx_id, len (host byte order)
XENSTORE_PAYLOAD_MAX = 4096
XENSTORE_ABS_PATH_MAX = 3072
XENSTORE_REL_PATH_MAX = 2048

PERM_NONE = 0
PERM_READ = 1
PERM_WRITE = 2
PERM_OWNER = 4
PERM_CHARS = {"n": PERM_NONE, "r": PERM_READ, "w": PERM_WRITE,
              "b": PERM_READ | PERM_WRITE}
PERM_LETTER = {v: k for k, v in PERM_CHARS.items()}

VALID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789-/_@")

CONTROL_PREFIX = "/tool/xenstored-test/"
SPECIAL_WATCHES = ("@releaseDomain", "@introduceDomain")

MAX_OUTBUF = 32 * 1024 * 1024      # drop a client that stops reading
MAX_TRANSACTIONS_PER_CONN = 1024   # generous; real default quota is 10

VERBOSE = False


def log(msg):
    if VERBOSE:
        sys.stderr.write("xenstored.py: %s\n" % msg)
        sys.stderr.flush()


class XsError(Exception):
    """An error answered as XS_ERROR "<name>\\0"."""

    def __init__(self, name):
        Exception.__init__(self, name)
        self.name = name


class Shutdown(Exception):
    pass


# ---------------------------------------------------------------------------
# Data model
# ---------------------------------------------------------------------------
class Node:
    __slots__ = ("value", "perms", "children", "gen")

    def __init__(self, value=b"", perms=None, children=None, gen=0):
        self.value = value
        # list of (domid, permbits); entry 0 = owner + default for others
        self.perms = list(perms) if perms else [(0, PERM_NONE)]
        self.children = list(children) if children else []
        self.gen = gen

    def copy(self):
        return Node(self.value, self.perms, self.children, self.gen)


def parent_of(path):
    if path == "/":
        return None
    i = path.rfind("/")
    return "/" if i == 0 else path[:i]


def basename(path):
    return path[path.rfind("/") + 1:]


def is_child(child, parent):
    """True if child == parent or child is below parent (xenstored's is_child)."""
    if parent == "/":
        return True
    if not child.startswith(parent):
        return False
    return len(child) == len(parent) or child[len(parent)] == "/"


def perms_to_strings(perms):
    return ["%s%d" % (PERM_LETTER[p], d) for d, p in perms]


def parse_perm_strings(strs):
    out = []
    for s in strs:
        if len(s) < 2 or s[0] not in PERM_CHARS or not s[1:].isdigit():
            raise XsError("EINVAL")
        domid = int(s[1:])
        if domid > 0xFFFF:
            raise XsError("EINVAL")
        out.append((domid, PERM_CHARS[s[0]]))
    if not out:
        raise XsError("EINVAL")
    return out


class Store:
    """The committed tree: flat dict path -> Node."""

    def __init__(self):
        self.nodes = {}
        self.genctr = 0

    def next_gen(self):
        self.genctr += 1
        return self.genctr

    def get(self, path):
        return self.nodes.get(path)

    def put(self, path, node):
        node.gen = self.next_gen()
        self.nodes[path] = node

    def delete(self, path):
        self.nodes.pop(path, None)


class GlobalView:
    """Operations outside a transaction act directly on the store."""

    is_tx = False

    def __init__(self, server):
        self.server = server
        self.store = server.store

    def get(self, path):
        return self.store.get(path)

    def put(self, path, node):
        self.store.put(path, node)

    def delete(self, path):
        self.store.delete(path)

    def event(self, ev):
        self.server.deliver(ev)

    def action(self, conn, cmd, args):
        self.server.control(conn, cmd, args)


class TxView:
    """Copy-on-write overlay over the store with optimistic conflict check.

    A node is copied into the transaction the first time it is accessed
    (repeatable reads per node, like xenstored >= 4.9); nodes never touched
    are read from the live store.

    Every node the transaction looks at (or changes) is remembered with the
    generation it had in the store; at commit all of them must be unchanged,
    otherwise the commit fails with EAGAIN (like xenstored's generation
    based transactions)."""

    is_tx = True

    def __init__(self, server, txid):
        self.server = server
        self.store = server.store
        self.txid = txid
        self.overlay = {}    # path -> Node | None (deleted)
        self.accessed = {}   # path -> generation seen (-1 = absent)
        self.seen = {}       # path -> Node | None as first seen
        self.events = []     # queued watch events, fired at commit
        self.actions = []    # queued control actions, run at commit

    def _note(self, path):
        if path not in self.accessed:
            n = self.store.get(path)
            self.accessed[path] = n.gen if n else -1
            self.seen[path] = n

    def get(self, path):
        if path in self.overlay:
            return self.overlay[path]
        # repeatable reads: a node keeps the state it had when this
        # transaction first looked at it (nodes are never mutated in place)
        self._note(path)
        return self.seen[path]

    def put(self, path, node):
        self._note(path)
        self.overlay[path] = node

    def delete(self, path):
        self._note(path)
        self.overlay[path] = None

    def event(self, ev):
        self.events.append(ev)

    def action(self, conn, cmd, args):
        self.actions.append((conn, cmd, args))

    def conflicts(self):
        for path, gen in self.accessed.items():
            n = self.store.get(path)
            if (n.gen if n else -1) != gen:
                return True
        return False

    def apply(self):
        for path, node in self.overlay.items():
            if node is None:
                self.store.delete(path)
            else:
                self.store.put(path, node.copy())


class Event:
    __slots__ = ("path", "exact", "perms", "parent_perms", "old_perms")

    def __init__(self, path, exact, perms, parent_perms, old_perms=None):
        self.path = path
        self.exact = exact
        self.perms = perms
        self.parent_perms = parent_perms
        self.old_perms = old_perms


class Watch:
    __slots__ = ("path", "token", "orig")

    def __init__(self, path, token, orig):
        self.path = path      # absolute path or @special
        self.token = token    # bytes
        self.orig = orig      # as the client gave it (relative or absolute)


# ---------------------------------------------------------------------------
# Connections
# ---------------------------------------------------------------------------
class Conn:
    def __init__(self, server, sock, domid, label):
        self.server = server
        self.sock = sock
        self.domid = domid
        self.label = label
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.watches = []
        self.transactions = {}
        self.closed = False

    @property
    def privileged(self):
        return self.domid == 0

    def domain_path(self):
        return "/local/domain/%d" % self.domid

    def send(self, mtype, req_id, tx_id, payload):
        if self.closed:
            return
        self.outbuf += HDR.pack(mtype, req_id, tx_id, len(payload))
        self.outbuf += payload
        if len(self.outbuf) > MAX_OUTBUF:
            log("%s: output buffer overflow, dropping client" % self.label)
            self.server.close_conn(self)
            return
        self.flush()

    def flush(self):
        while self.outbuf and not self.closed:
            try:
                n = self.sock.send(self.outbuf)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.server.close_conn(self)
                return
            del self.outbuf[:n]
        if not self.closed:
            self.server.update_interest(self)


# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------
class Server:
    def __init__(self, bare=False):
        self.sel = selectors.DefaultSelector()
        self.store = Store()
        self.gview = GlobalView(self)
        self.conns = set()
        self.listeners = []           # (sock, path, domid, inode)
        self.introduced = {0}
        self.targets = {}             # domid -> target domid
        self.special_perms = {w: [(0, PERM_NONE)] for w in SPECIAL_WATCHES}
        self.next_txid = 1
        self.faults = []              # [type name or "*", path or None, left, errno]
        self._init_tree(bare)

    # -- tree setup ----------------------------------------------------------
    def _init_tree(self, bare):
        s = self.store
        s.put("/", Node())
        self._mk_raw("/tool")
        self._mk_raw("/tool/xenstored")
        if not bare:
            self._mk_raw("/local")
            self._mk_raw("/local/domain")
            self._mk_raw("/local/domain/0")
            self._mk_raw("/local/domain/0/name", b"Domain-0")
            self._mk_raw("/local/domain/0/domid", b"0")

    def _mk_raw(self, path, value=b""):
        par = self.store.get(parent_of(path)).copy()
        par.children.append(basename(path))
        self.store.put(parent_of(path), par)
        self.store.put(path, Node(value, par.perms))

    # -- state across a restart (--state) -----------------------------------
    def save_state(self, path):
        nodes = {p: [n.value.hex(), perms_to_strings(n.perms), n.children]
                 for p, n in self.store.nodes.items()}
        state = {"nodes": nodes, "introduced": sorted(self.introduced),
                 "targets": self.targets}
        with open(path + ".tmp", "w") as f:
            json.dump(state, f)
        os.rename(path + ".tmp", path)

    def load_state(self, path):
        with open(path) as f:
            state = json.load(f)
        self.store = Store()
        self.gview = GlobalView(self)
        for p, (value, perms, children) in state["nodes"].items():
            self.store.put(p, Node(bytes.fromhex(value),
                                   parse_perm_strings(perms), children))
        self.introduced = set(state["introduced"])
        self.targets = {int(k): v for k, v in state["targets"].items()}

    # -- sockets -------------------------------------------------------------
    def listen(self, path, domid):
        if os.path.lexists(path):
            st = os.lstat(path)
            if not stat.S_ISSOCK(st.st_mode):
                raise SystemExit("xenstored.py: %s exists and is not a socket"
                                 % path)
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(path)
                raise SystemExit("xenstored.py: a server is already "
                                 "listening on %s" % path)
            except OSError:
                os.unlink(path)
            finally:
                probe.close()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        sock.listen(socket.SOMAXCONN)
        sock.setblocking(False)
        ino = os.stat(path).st_ino
        self.listeners.append((sock, path, domid, ino))
        self.sel.register(sock, selectors.EVENT_READ, ("listen", domid, path))
        if domid != 0:
            self.introduced.add(domid)

    def cleanup(self):
        for c in list(self.conns):
            self.close_conn(c)
        for sock, path, _domid, ino in self.listeners:
            try:
                self.sel.unregister(sock)
            except Exception:
                pass
            sock.close()
            try:
                if os.stat(path).st_ino == ino:
                    os.unlink(path)
            except OSError:
                pass
        self.listeners = []

    def close_conn(self, conn):
        if conn.closed:
            return
        conn.closed = True
        log("%s: closed" % conn.label)
        try:
            self.sel.unregister(conn.sock)
        except Exception:
            pass
        conn.sock.close()
        conn.watches = []
        conn.transactions = {}
        self.conns.discard(conn)

    def update_interest(self, conn):
        ev = selectors.EVENT_READ
        if conn.outbuf:
            ev |= selectors.EVENT_WRITE
        try:
            if self.sel.get_key(conn.sock).events != ev:
                self.sel.modify(conn.sock, ev, conn)
        except (KeyError, ValueError):
            pass

    def run(self):
        while True:
            for key, mask in self.sel.select():
                data = key.data
                if isinstance(data, tuple) and data[0] == "listen":
                    self._accept(key.fileobj, data[1], data[2])
                    continue
                conn = data
                if conn.closed:
                    continue
                if mask & selectors.EVENT_WRITE:
                    conn.flush()
                if conn.closed:
                    continue
                if mask & selectors.EVENT_READ:
                    self._readable(conn)

    def _accept(self, lsock, domid, path):
        while True:
            try:
                s, _ = lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                log("accept failed: %s" % e)
                return
            s.setblocking(False)
            label = "conn%d(dom%d)" % (s.fileno(), domid)
            c = Conn(self, s, domid, label)
            self.conns.add(c)
            self.sel.register(s, selectors.EVENT_READ, c)
            log("%s: connected on %s" % (label, path))

    def _readable(self, conn):
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close_conn(conn)
            return
        if not data:
            self.close_conn(conn)
            return
        conn.inbuf += data
        while not conn.closed and len(conn.inbuf) >= HDR.size:
            mtype, req_id, tx_id, length = HDR.unpack_from(conn.inbuf)
            if length > XENSTORE_PAYLOAD_MAX:
                # xenstored treats this as a protocol violation and stops
                # talking to the client.
                log("%s: message too long (%d), dropping client"
                    % (conn.label, length))
                self.close_conn(conn)
                return
            if len(conn.inbuf) < HDR.size + length:
                break
            payload = bytes(conn.inbuf[HDR.size:HDR.size + length])
            del conn.inbuf[:HDR.size + length]
            self.process(conn, mtype, req_id, tx_id, payload)

    # -- request dispatch ----------------------------------------------------
    def process(self, conn, mtype, req_id, tx_id, payload):
        name = TYPE_NAMES.get(mtype, str(mtype))
        log("%s: req %s id=%d tx=%d %r" % (conn.label, name, req_id, tx_id,
                                            payload[:200]))
        try:
            handler = HANDLERS.get(mtype)
            if handler is None:
                raise XsError("ENOSYS")
            if mtype in PRIV_ONLY and not conn.privileged:
                raise XsError("EACCES")    # xenstored's XS_FLAG_PRIV
            self.inject_fault(conn, name, payload)
            view = self.gview
            if tx_id != 0:
                view = conn.transactions.get(tx_id)
                if view is None:
                    raise XsError("ENOENT")
            reply = handler(self, conn, view, req_id, tx_id, payload)
        except XsError as e:
            log("%s: -> ERROR %s" % (conn.label, e.name))
            conn.send(XS_ERROR, req_id, tx_id, e.name.encode() + b"\0")
            return
        except Exception:  # a bug here must not take the daemon down
            sys.stderr.write("xenstored.py: INTERNAL ERROR handling %s %r\n"
                             % (name, payload[:200]))
            traceback.print_exc()
            sys.stderr.flush()
            conn.send(XS_ERROR, req_id, tx_id, b"EIO\0")
            return
        if reply is None:
            return
        if len(reply) > XENSTORE_PAYLOAD_MAX:
            conn.send(XS_ERROR, req_id, tx_id, b"E2BIG\0")
            return
        log("%s: -> %s %r" % (conn.label, name, reply[:200]))
        conn.send(mtype, req_id, tx_id, reply)

    # -- fault injection (test-only, see README.md) ---------------------------
    def inject_fault(self, conn, name, payload):
        """Answer this request with an error if a pending fault matches it:
        its type and its first argument (the path, or the domid)."""
        if not self.faults or name == "CONTROL":
            return
        arg = payload.split(b"\0", 1)[0].decode("ascii", "replace")
        if arg.startswith(CONTROL_PREFIX):
            return     # the control interface itself is never faulted
        for f in self.faults:
            ftype, fpath, left, err = f
            if ftype not in ("*", name) or left <= 0:
                continue
            if fpath is not None and not (
                    arg == fpath or
                    (fpath.startswith("/") and is_child(arg, fpath))):
                continue
            f[2] -= 1
            log("%s: injected fault %s on %s %s" % (conn.label, err, name, arg))
            self.faults = [g for g in self.faults if g[2] > 0]
            raise XsError(err)

    def faults_left(self):
        return sum(f[2] for f in self.faults)

    # -- permissions ---------------------------------------------------------
    def perm_for(self, conn, perms):
        full = PERM_READ | PERM_WRITE | PERM_OWNER
        if conn.privileged:
            return full
        owner = perms[0][0]
        tgt = self.targets.get(conn.domid)
        if owner == conn.domid or (tgt is not None and owner == tgt):
            return full
        for domid, p in perms[1:]:
            if domid == conn.domid or (tgt is not None and domid == tgt):
                return p
        return perms[0][1]

    def canonical(self, conn, path_bytes):
        try:
            path = path_bytes.decode("ascii")
        except UnicodeDecodeError:
            raise XsError("EINVAL")
        if not path.startswith("/"):
            if len(path) > XENSTORE_REL_PATH_MAX:
                raise XsError("EINVAL")
            path = conn.domain_path() + "/" + path
        if not valid_nodename(path):
            raise XsError("EINVAL")
        return path

    def get_node(self, view, conn, path, perm):
        node = view.get(path)
        if node is not None:
            if (self.perm_for(conn, node.perms) & perm) == perm:
                return node
            err = "EACCES"
        else:
            err = "ENOENT"
        # Don't leak the existence of nodes the caller can't see: the
        # nearest existing ancestor decides (xenstored's errno_from_parents).
        anc = parent_of(path)
        while anc is not None:
            a = view.get(anc)
            if a is not None:
                if self.perm_for(conn, a.perms) & perm:
                    raise XsError(err)
                raise XsError("EACCES")
            anc = parent_of(anc)
        raise XsError("EACCES")

    # -- tree mutation (work on any view) ------------------------------------
    def create_node(self, view, conn, path, value):
        missing = []
        p = path
        while view.get(p) is None:
            missing.append(p)
            p = parent_of(p)
        node = None
        for p in reversed(missing):
            par = view.get(parent_of(p)).copy()
            par.children.append(basename(p))
            view.put(parent_of(p), par)
            perms = list(par.perms)
            if not conn.privileged:
                perms[0] = (conn.domid, perms[0][1])
            node = Node(value if p == path else b"", perms)
            view.put(p, node)
        return node

    def event_for(self, view, path, node, exact, old_perms=None):
        par = parent_of(path)
        pnode = view.get(par) if par else None
        return Event(path, exact, list(node.perms),
                     list(pnode.perms) if pnode else None, old_perms)

    def remove_node(self, view, path, node):
        view.event(self.event_for(view, path, node, False))
        self._delete_tree(view, path, node, top=True)
        par = parent_of(path)
        pnode = view.get(par).copy()
        name = basename(path)
        if name in pnode.children:
            pnode.children.remove(name)
        view.put(par, pnode)

    def _delete_tree(self, view, path, node, top):
        # post-order, iterative (paths may be ~1500 levels deep)
        stack = [(path, node, False)]
        while stack:
            p, n, expanded = stack.pop()
            if not expanded:
                stack.append((p, n, True))
                for child in reversed(n.children):
                    cpath = (p if p != "/" else "") + "/" + child
                    cnode = view.get(cpath)
                    if cnode is not None:
                        stack.append((cpath, cnode, False))
                continue
            if p != path:
                # like xenstored: removed descendants fire exact watches
                view.event(self.event_for(view, p, n, True))
            view.delete(p)

    # -- watch delivery ------------------------------------------------------
    def watch_permitted(self, conn, ev):
        if ev.old_perms is not None and \
                not self.perm_for(conn, ev.old_perms) & PERM_READ:
            return False
        if self.perm_for(conn, ev.perms) & PERM_READ:
            return True
        return bool(ev.parent_perms is not None and
                    self.perm_for(conn, ev.parent_perms) & PERM_READ)

    def deliver(self, ev):
        for conn in list(self.conns):
            if conn.closed:
                continue
            permitted = None
            for w in list(conn.watches):
                if w.path.startswith("@"):
                    continue
                if ev.exact:
                    if w.path != ev.path:
                        continue
                elif not is_child(ev.path, w.path):
                    continue
                if permitted is None:
                    permitted = self.watch_permitted(conn, ev)
                if not permitted:
                    break
                self.send_event(conn, w, ev.path)

    def send_event(self, conn, w, path):
        if w.orig != w.path and not w.path.startswith("@"):
            # relative watch: report paths relative to the domain path
            path = path[len(w.path) - len(w.orig):]
        log("%s: event %s token %r" % (conn.label, path, w.token))
        conn.send(XS_WATCH_EVENT, 0, 0, path.encode() + b"\0" + w.token + b"\0")

    def fire_special(self, name):
        for conn in list(self.conns):
            if conn.closed:
                continue
            if not self.perm_for(conn, self.special_perms[name]) & PERM_READ:
                continue
            for w in list(conn.watches):
                if w.path == name:
                    self.send_event(conn, w, name)

    # -- test control --------------------------------------------------------
    def control(self, conn, cmd, args):
        """Test-only control commands (see README.md)."""
        def domid_arg():
            if len(args) != 1 or not args[0].isdigit():
                raise XsError("EINVAL")
            d = int(args[0])
            if d > 0x7FEF:
                raise XsError("EINVAL")
            return d

        log("control %s %s" % (cmd, args))
        if cmd in ("release-domain", "release-domain-keep"):
            d = domid_arg()
            if d == 0:
                raise XsError("EINVAL")
            if cmd == "release-domain":
                dpath = "/local/domain/%d" % d
                node = self.store.get(dpath)
                if node is not None:
                    self.remove_node(self.gview, dpath, node)
            self.introduced.discard(d)
            self.fire_special("@releaseDomain")
        elif cmd == "introduce-domain":
            d = domid_arg()
            self.introduced.add(d)
            self.fire_special("@introduceDomain")
        elif cmd == "fire":
            if len(args) != 1 or args[0] not in SPECIAL_WATCHES:
                raise XsError("EINVAL")
            self.fire_special(args[0])
        elif cmd == "fail":
            # fail TYPE COUNT ERRNO [PATH]: the next COUNT requests of TYPE
            # (a wire name such as GET_PERMS, or *) on PATH or below it
            # (or with that first argument, e.g. a domid) answer ERRNO.
            if len(args) not in (3, 4) or \
                    (args[0] != "*" and args[0] not in TYPE_NAMES.values()) or \
                    not args[1].isdigit() or int(args[1]) < 1 or \
                    not args[2].startswith("E") or not args[2][1:].isalnum():
                raise XsError("EINVAL")
            self.faults.append([args[0], args[3] if len(args) == 4 else None,
                                int(args[1]), args[2]])
        elif cmd == "fail-clear":
            self.faults = []
        elif cmd == "drop-guest-connections":
            d = domid_arg()
            for c in list(self.conns):
                if c.domid == d:
                    self.close_conn(c)
        else:
            raise XsError("EINVAL")


def valid_nodename(path):
    if not path.startswith("/"):
        return False
    if path.endswith("/") and path != "/":
        return False
    if "//" in path:
        return False
    if len(path) > XENSTORE_ABS_PATH_MAX:
        return False
    return all(ch in VALID_CHARS for ch in path)


def get_strings(payload):
    """NUL-terminated strings of payload (unterminated tail ignored)."""
    parts = payload.split(b"\0")
    return parts[:-1]


def onearg(payload):
    if not payload or payload[-1:] != b"\0" or b"\0" in payload[:-1]:
        raise XsError("EINVAL")
    return payload[:-1]


def ascii_args(payload, n=None, at_least=None):
    strs = get_strings(payload)
    if n is not None and len(strs) != n:
        raise XsError("EINVAL")
    if at_least is not None and len(strs) < at_least:
        raise XsError("EINVAL")
    try:
        return [s.decode("ascii") for s in strs]
    except UnicodeDecodeError:
        raise XsError("EINVAL")


def parse_domid(s):
    if isinstance(s, bytes):
        try:
            s = s.decode("ascii")
        except UnicodeDecodeError:
            raise XsError("EINVAL")
    if not s.isdigit() or int(s) > 0xFFFF:
        raise XsError("EINVAL")
    return int(s)


ACK = b"OK\0"


# ---------------------------------------------------------------------------
# Handlers: (server, conn, view, req_id, tx_id, payload) -> reply bytes
# ---------------------------------------------------------------------------
def h_read(srv, conn, view, req_id, tx_id, payload):
    path = srv.canonical(conn, onearg(payload))
    if path == CONTROL_PREFIX + "faults-left" and conn.privileged:
        return str(srv.faults_left()).encode()
    return srv.get_node(view, conn, path, PERM_READ).value


def h_write(srv, conn, view, req_id, tx_id, payload):
    if b"\0" not in payload:
        raise XsError("EINVAL")
    raw, value = payload.split(b"\0", 1)
    path = srv.canonical(conn, raw)
    if path.startswith(CONTROL_PREFIX):
        if not conn.privileged:
            raise XsError("EACCES")
        try:
            args = value.decode("ascii").split()
        except UnicodeDecodeError:
            raise XsError("EINVAL")
        view.action(conn, path[len(CONTROL_PREFIX):], args)
        return ACK
    try:
        node = srv.get_node(view, conn, path, PERM_WRITE)
        node = node.copy()
        node.value = value
        view.put(path, node)
    except XsError as e:
        if e.name != "ENOENT":
            raise
        node = srv.create_node(view, conn, path, value)
    view.event(srv.event_for(view, path, node, False))
    return ACK


def h_mkdir(srv, conn, view, req_id, tx_id, payload):
    path = srv.canonical(conn, onearg(payload))
    try:
        srv.get_node(view, conn, path, PERM_WRITE)
    except XsError as e:
        if e.name != "ENOENT":
            raise
        node = srv.create_node(view, conn, path, b"")
        view.event(srv.event_for(view, path, node, False))
    return ACK


def h_rm(srv, conn, view, req_id, tx_id, payload):
    path = srv.canonical(conn, onearg(payload))
    try:
        node = srv.get_node(view, conn, path, PERM_WRITE)
    except XsError as e:
        if e.name == "ENOENT" and path != "/" and \
                view.get(parent_of(path)) is not None:
            return ACK     # didn't exist, but the parent does: fine
        raise
    if path == "/":
        raise XsError("EINVAL")
    srv.remove_node(view, path, node)
    return ACK


def h_directory(srv, conn, view, req_id, tx_id, payload):
    path = srv.canonical(conn, onearg(payload))
    node = srv.get_node(view, conn, path, PERM_READ)
    return b"".join(c.encode() + b"\0" for c in node.children)


def h_directory_part(srv, conn, view, req_id, tx_id, payload):
    strs = get_strings(payload)
    if len(strs) != 2:
        raise XsError("EINVAL")
    path = srv.canonical(conn, strs[0])
    try:
        off = int(strs[1].decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise XsError("EINVAL")
    node = srv.get_node(view, conn, path, PERM_READ)
    gen = str(node.gen).encode() + b"\0"
    kids = b"".join(c.encode() + b"\0" for c in node.children)
    if off < 0 or off >= len(kids):
        return gen + b"\0"
    out = bytearray()
    pos = off
    while pos < len(kids):
        end = kids.index(b"\0", pos) + 1
        if len(gen) + len(out) + (end - pos) >= XENSTORE_PAYLOAD_MAX:
            break
        out += kids[pos:end]
        pos = end
    if pos == len(kids):
        out += b"\0"
    return gen + bytes(out)


def h_get_perms(srv, conn, view, req_id, tx_id, payload):
    raw = onearg(payload)
    if raw.startswith(b"@"):
        name = raw.decode("ascii", "replace")
        if name not in srv.special_perms:
            raise XsError("ENOENT")
        perms = srv.special_perms[name]
    else:
        path = srv.canonical(conn, raw)
        perms = srv.get_node(view, conn, path, PERM_READ).perms
    return b"".join(s.encode() + b"\0" for s in perms_to_strings(perms))


def h_set_perms(srv, conn, view, req_id, tx_id, payload):
    strs = get_strings(payload)
    if len(strs) < 2:
        raise XsError("EINVAL")
    try:
        perms = parse_perm_strings([s.decode("ascii") for s in strs[1:]])
    except UnicodeDecodeError:
        raise XsError("EINVAL")
    if strs[0].startswith(b"@"):
        name = strs[0].decode("ascii", "replace")
        if name not in srv.special_perms:
            raise XsError("ENOENT")
        if not conn.privileged:
            raise XsError("EACCES")
        srv.special_perms[name] = perms
        return ACK
    path = srv.canonical(conn, strs[0])
    node = srv.get_node(view, conn, path, PERM_WRITE | PERM_OWNER)
    if not conn.privileged and perms[0][0] != node.perms[0][0]:
        raise XsError("EPERM")
    old = list(node.perms)
    node = node.copy()
    node.perms = perms
    view.put(path, node)
    view.event(srv.event_for(view, path, node, False, old_perms=old))
    return ACK


def h_watch(srv, conn, view, req_id, tx_id, payload):
    strs = get_strings(payload)
    if len(strs) != 2:
        raise XsError("EINVAL")
    raw, token = strs
    if raw.startswith(b"@"):
        if len(raw) > XENSTORE_REL_PATH_MAX:
            raise XsError("EINVAL")
        try:
            path = orig = raw.decode("ascii")
        except UnicodeDecodeError:
            raise XsError("EINVAL")
    else:
        path = srv.canonical(conn, raw)
        orig = raw.decode("ascii")
    for w in conn.watches:
        if w.path == path and w.token == token:
            raise XsError("EEXIST")
    w = Watch(path, token, orig)
    conn.watches.append(w)
    conn.send(XS_WATCH, req_id, tx_id, ACK)
    # Like xenstored, fire once up front.
    log("%s: initial event %s token %r" % (conn.label, orig, token))
    conn.send(XS_WATCH_EVENT, 0, 0, raw + b"\0" + token + b"\0")
    return None


def h_unwatch(srv, conn, view, req_id, tx_id, payload):
    strs = get_strings(payload)
    if len(strs) != 2:
        raise XsError("EINVAL")
    raw, token = strs
    if raw.startswith(b"@"):
        path = raw.decode("ascii", "replace")
    else:
        path = srv.canonical(conn, raw)
    for w in conn.watches:
        if w.path == path and w.token == token:
            conn.watches.remove(w)
            return ACK
    raise XsError("ENOENT")


def h_reset_watches(srv, conn, view, req_id, tx_id, payload):
    conn.watches = []
    conn.transactions = {}
    return ACK


def h_transaction_start(srv, conn, view, req_id, tx_id, payload):
    if tx_id != 0:
        raise XsError("EBUSY")
    if len(conn.transactions) >= MAX_TRANSACTIONS_PER_CONN:
        raise XsError("ENOSPC")
    txid = srv.next_txid
    srv.next_txid = srv.next_txid % 0xFFFFFFFE + 1
    conn.transactions[txid] = TxView(srv, txid)
    return str(txid).encode() + b"\0"


def h_transaction_end(srv, conn, view, req_id, tx_id, payload):
    arg = onearg(payload)
    if arg not in (b"T", b"F"):
        raise XsError("EINVAL")
    if tx_id == 0 or not view.is_tx:
        raise XsError("ENOENT")
    del conn.transactions[tx_id]
    if arg == b"F":
        return ACK
    if view.conflicts():
        log("%s: transaction %d conflicts -> EAGAIN" % (conn.label, tx_id))
        raise XsError("EAGAIN")
    view.apply()
    seen = {}
    for ev in view.events:
        seen[(ev.path, ev.exact)] = ev
    # fire in first-occurrence order, with the latest permissions
    order = []
    done = set()
    for ev in view.events:
        k = (ev.path, ev.exact)
        if k not in done:
            done.add(k)
            order.append(seen[k])
    for ev in order:
        srv.deliver(ev)
    for c, cmd, args in view.actions:
        try:
            srv.control(c, cmd, args)
        except XsError:
            pass
    return ACK


def h_get_domain_path(srv, conn, view, req_id, tx_id, payload):
    domid = parse_domid(onearg(payload))
    return ("/local/domain/%d" % domid).encode() + b"\0"


def h_introduce(srv, conn, view, req_id, tx_id, payload):
    if not conn.privileged:
        raise XsError("EACCES")
    args = ascii_args(payload, at_least=3)
    domid = parse_domid(args[0])
    for a in args[1:3]:
        if not a.isdigit():
            raise XsError("EINVAL")
    if domid == 0:
        raise XsError("EINVAL")
    if domid not in srv.introduced:
        srv.introduced.add(domid)
        srv.fire_special("@introduceDomain")
    return ACK


def h_release(srv, conn, view, req_id, tx_id, payload):
    if not conn.privileged:
        raise XsError("EACCES")
    domid = parse_domid(onearg(payload))
    if domid == 0:
        raise XsError("EINVAL")
    if domid not in srv.introduced:
        raise XsError("ENOENT")
    srv.introduced.discard(domid)
    srv.fire_special("@releaseDomain")
    return ACK


def h_is_domain_introduced(srv, conn, view, req_id, tx_id, payload):
    domid = parse_domid(onearg(payload))
    return b"T\0" if domid in srv.introduced else b"F\0"


def h_resume(srv, conn, view, req_id, tx_id, payload):
    if not conn.privileged:
        raise XsError("EACCES")
    domid = parse_domid(onearg(payload))
    if domid not in srv.introduced:
        raise XsError("ENOENT")
    return ACK


def h_set_target(srv, conn, view, req_id, tx_id, payload):
    if not conn.privileged:
        raise XsError("EACCES")
    args = ascii_args(payload, n=2)
    domid, target = parse_domid(args[0]), parse_domid(args[1])
    srv.targets[domid] = target
    return ACK


def h_control(srv, conn, view, req_id, tx_id, payload):
    if not conn.privileged:
        raise XsError("EACCES")
    args = ascii_args(payload, at_least=1)
    cmd = args[0]
    if cmd == "help":
        return (b"release-domain <domid>\nrelease-domain-keep <domid>\n"
                b"introduce-domain <domid>\nfire <@special>\n"
                b"drop-guest-connections <domid>\n"
                b"fail <TYPE|*> <count> <ERRNO> [path]\nfail-clear\n\0")
    srv.control(conn, cmd, args[1:])
    return ACK


# xenstored refuses these to unprivileged connections before looking at them
# (XS_FLAG_PRIV in xenstored_core.c's wire_funcs), whatever the argument.
PRIV_ONLY = frozenset((XS_INTRODUCE, XS_RELEASE, XS_IS_DOMAIN_INTRODUCED,
                       XS_RESUME, XS_SET_TARGET))

HANDLERS = {
    XS_CONTROL: h_control,
    XS_DIRECTORY: h_directory,
    XS_READ: h_read,
    XS_GET_PERMS: h_get_perms,
    XS_WATCH: h_watch,
    XS_UNWATCH: h_unwatch,
    XS_TRANSACTION_START: h_transaction_start,
    XS_TRANSACTION_END: h_transaction_end,
    XS_INTRODUCE: h_introduce,
    XS_RELEASE: h_release,
    XS_GET_DOMAIN_PATH: h_get_domain_path,
    XS_WRITE: h_write,
    XS_MKDIR: h_mkdir,
    XS_RM: h_rm,
    XS_SET_PERMS: h_set_perms,
    XS_IS_DOMAIN_INTRODUCED: h_is_domain_introduced,
    XS_RESUME: h_resume,
    XS_SET_TARGET: h_set_target,
    XS_RESET_WATCHES: h_reset_watches,
    XS_DIRECTORY_PART: h_directory_part,
}


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------
def parse_guest(spec):
    path, sep, dom = spec.rpartition(":")
    if not sep or not path or not dom.isdigit() or int(dom) == 0 or \
            int(dom) > 0x7FEF:
        raise argparse.ArgumentTypeError(
            "expected PATH:DOMID with 0 < DOMID < 32752, got %r" % spec)
    return path, int(dom)


def main(argv=None):
    global VERBOSE
    ap = argparse.ArgumentParser(
        description="Test-only xenstore daemon on a unix socket.")
    ap.add_argument("--socket", required=True,
                    help="dom0 (privileged) socket path")
    ap.add_argument("--guest-socket", action="append", default=[],
                    type=parse_guest, metavar="PATH:DOMID",
                    help="extra socket whose clients act as guest DOMID "
                         "(repeatable)")
    ap.add_argument("--pidfile", help="write pid here once listening")
    ap.add_argument("--bare", action="store_true",
                    help="start with only / /tool /tool/xenstored")
    ap.add_argument("--introduce", action="append", default=[], type=int,
                    metavar="DOMID", help="domain(s) to mark introduced")
    ap.add_argument("--state", metavar="FILE",
                    help="load the tree and introduced domains from FILE if "
                         "it exists; write them there on SIGTERM/SIGINT/"
                         "SIGHUP (a restart that keeps the store, as a "
                         "live update does)")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="trace requests/replies on stderr")
    opts = ap.parse_args(argv)
    VERBOSE = opts.verbose

    def on_signal(signum, frame):
        raise Shutdown()

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    srv = Server(bare=opts.bare)
    if opts.state and os.path.exists(opts.state):
        srv.load_state(opts.state)
    pid_written = False
    try:
        srv.listen(opts.socket, 0)
        for path, dom in opts.guest_socket:
            srv.listen(path, dom)
        srv.introduced.update(opts.introduce)
        if opts.pidfile:
            tmp = opts.pidfile + ".tmp"
            with open(tmp, "w") as f:
                f.write("%d\n" % os.getpid())
            os.rename(tmp, opts.pidfile)
            pid_written = True
        log("listening on %s" % opts.socket)
        srv.run()
    except Shutdown:
        log("shutting down")
        if opts.state:
            srv.save_state(opts.state)
    finally:
        srv.cleanup()
        if pid_written:
            try:
                os.unlink(opts.pidfile)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
