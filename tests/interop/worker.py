#!/usr/bin/env python3
"""A marina worker in Python, written from docs/protocol.md alone.

    worker.py --config FILE [key=value ...] --id I --connect BCAST UP

It joins a run like `marina worker` (same arguments) and computes what docs/protocol.md,
"Reproducing a run", says a worker computes, so that the rows the recorder stores are the rows of
an all-C run with the same seed, to the last bit. It supports what that section spells out:
methods gd and marina, compressors identity and randk, the synthetic data set (synth_rank = 0),
losses nonconvex, logreg and quadratic, lambda >= 0, no regulariser, and an explicit gamma.

It is also where to start for plugging a Python model into a marina run: replace `Shard.value_grad`
(f_i and its gradient) and keep the rest. Needs python3-zmq and python3-msgpack; no numpy.
"""

import math
import os
import struct
import sys
import time

import msgpack
import zmq

VERSION = 6
(HELLO, READY, PING, ROUND, UPDATE, METRICS, RESYNC, RUN, STATS, STOP, REFUSE, ACK, STATE,
 CHECKPOINT) = range(1, 15)
ROLE_WORKER = 0
# Fields after [version, type] (docs/protocol.md, "The messages"); exact counts are required.
NFIELDS = {PING: 1, ROUND: 10, STOP: 2, REFUSE: 4}
RESYNC_AFTER_S = 2.0
M64 = (1 << 64) - 1

# docs/cli.md, the key table: (key, default, type) in table order. Types from docs/protocol.md,
# "Joining: the configuration check".
INT = ("k s t n rounds seed batch batch_prime r sketch_b byzantine bucket rfa_iters cc_iters "
       "max_invalid synth_rows synth_d synth_rank").split()
REAL = ("lambda lambda1 lambda2 radius lo hi stop_at stop_gap timeout_s progress_s attack_eps "
        "rfa_nu cc_tau momentum epochs synth_density synth_cond").split()
THEORY = ["gamma", "p", "alpha", "attack_z"]
BOOL = ["bias", "epoch_full"]
KEYS = [
    ("method", "marina"), ("compressor", "randk"), ("k", "10"), ("s", "1"), ("t", "16"),
    ("n", "5"), ("rounds", "1000"), ("seed", "1"), ("dataset", "synthetic"), ("bias", "true"),
    ("loss", "nonconvex"), ("lambda", "0"), ("gamma", "theory"), ("p", "theory"),
    ("alpha", "theory"), ("batch", "0"), ("batch_prime", "0"), ("r", "0"),
    ("sampling", "uniform"), ("reg", "none"), ("lambda1", "0"), ("lambda2", "0"),
    ("radius", "1"), ("lo", "-1"), ("hi", "1"), ("sketch", "coordinate"), ("sketch_b", "1"),
    ("fstar", "auto"), ("stop_at", "0"), ("stop_gap", "0"), ("db", "marina.db"), ("name", ""),
    ("launch", ""),
    ("transport", "tcp"), ("threads", "0"), ("timeout_s", "60"), ("progress_s", "1"),
    ("metrics_every", "auto"), ("worker_rows_every", "auto"), ("checkpoint_every", "auto"),
    ("fault_send", "none"),
    ("downlink", "auto"), ("security", "none"),
    ("keys_dir", ""), ("byzantine", "0"),
    ("attack", "none"), ("attack_z", "theory"), ("attack_eps", "0.1"), ("aggregator", "mean"),
    ("bucket", "0"), ("rfa_nu", "0.1"), ("rfa_iters", "8"), ("cc_tau", "10"), ("cc_iters", "3"),
    ("on_worker_loss", "fail"),
    ("max_invalid", "10"), ("momentum", "0.9"), ("epoch_full", "false"), ("estimator", "global"),
    ("epochs", "0"),
    ("normalize", "none"), ("split", "contiguous"), ("synth_rows", "2000"),
    ("synth_d", "40"), ("synth_density", "0.3"), ("synth_rank", "0"),
    ("synth_cond", "1"),
]
LOCAL = ["db", "name", "transport", "threads", "timeout_s", "progress_s", "metrics_every",
         "worker_rows_every", "checkpoint_every",
         "fault_send", "downlink", "rounds", "stop_at", "stop_gap", "fstar", "dataset",
         "keys_dir", "launch"]


def cert_key(path, field):
    """The Z85 text of field ('public-key' or 'secret-key') in a CZMQ certificate file."""
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.strip().partition("=")
                if key.strip() == field:
                    return value.strip().strip('"').encode()
    except OSError as e:
        die("security=curve: cannot read %s: %s" % (path, e))
    die("security=curve: no %s in %s" % (field, path))


def curve_keys(cfg, wid, socks):
    """security=curve (docs/protocol.md, "Security"): this worker's key pair (keys_dir/secret/
    worker-ID.cert_secret, else worker.cert_secret) and the server's public key on every socket."""
    if cfg["security"] == "none":
        return
    if cfg["security"] != "curve":
        die("security = '%s' is unknown (none or curve)" % cfg["security"])
    if not zmq.has("curve"):
        die("security=curve: this libzmq has no CURVE")
    keys = cfg["keys_dir"]
    secret = os.path.join(keys, "secret", "worker-%d.cert_secret" % wid)
    if not os.path.exists(secret):
        secret = os.path.join(keys, "secret", "worker.cert_secret")
    public, private = cert_key(secret, "public-key"), cert_key(secret, "secret-key")
    server = cert_key(os.path.join(keys, "server.cert"), "public-key")
    for sock in socks:
        sock.curve_publickey = public
        sock.curve_secretkey = private
        sock.curve_serverkey = server


def log(text):
    sys.stderr.write("worker.py %s: %s\n" % (os.getpid(), text))
    sys.stderr.flush()


def die(text):
    log(text)
    sys.exit(1)


# ----------------------------------------------------------------------------------------------
# Configuration


def parse_bool(v):
    v = v.lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ValueError("'%s' is not a boolean" % v)


def read_config(path, overrides):
    cfg = dict(KEYS)
    lines = []
    if path:
        with open(path) as f:
            for i, line in enumerate(f, 1):
                s = line.split(" ;")[0].strip()  # inih: "; comment" may end a line
                if not s or s[0] in ";#":
                    continue
                if "=" not in s:
                    die("%s:%d: expected 'key = value'" % (path, i))
                lines.append(("%s:%d" % (path, i), s))
    for a in overrides:
        lines.append(("argument '%s'" % a, a))
    for where, s in lines:
        key, value = (x.strip() for x in s.split("=", 1))
        if key not in cfg:
            die("%s: unknown key '%s'" % (where, key))
        cfg[key] = value
    return cfg


def canonical(key, v):
    if key in BOOL:
        return "true" if parse_bool(v) else "false"
    if key in THEORY and v == "theory":
        return "theory"
    if key in INT:
        return "%d" % int(float(v))
    if key in REAL or key in THEORY:
        return "%.17g" % float(v)
    return v


def join_text(cfg):
    return "".join("%s=%s\n" % (k, canonical(k, cfg[k])) for k, _ in KEYS if k not in LOCAL)


def fnv1a(data, h=0xCBF29CE484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def g_digest(g):
    """d plus, for each coordinate j, a mixed term of j and g_j's IEEE-754 bits, mod 2^64."""
    h = len(g)
    for j, b in enumerate(struct.unpack("<%dQ" % len(g), struct.pack("<%dd" % len(g), *g))):
        z = (b + (j + 1) * 0x9E3779B97F4A7C15) & M64
        z ^= z >> 32
        z = (z * 0xD6E8FEB86659FD93) & M64
        z ^= z >> 29
        h = (h + z) & M64
    return h


# ----------------------------------------------------------------------------------------------
# The generator: xoshiro256** seeded by splitmix64 (docs/protocol.md, "The generator")


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


class Rng:
    def __init__(self, seed, stream):
        a = [seed & M64]
        b = [(stream ^ 0xD1B54A32D192ED03) & M64]
        state = [self._splitmix(a) ^ rotl(self._splitmix(b), 17)]
        self.s = [self._splitmix(state) for _ in range(4)]
        if not any(self.s):
            self.s[0] = 1

    @staticmethod
    def _splitmix(z0):
        z0[0] = (z0[0] + 0x9E3779B97F4A7C15) & M64
        z = z0[0]
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self):
        return float(self.next() >> 11) * 2.0 ** -53

    def below(self, n):
        assert 0 < n < (1 << 32)
        m = (self.next() >> 32) * n
        if (m & 0xFFFFFFFF) < n:
            th = ((1 << 32) - n) % n
            while (m & 0xFFFFFFFF) < th:
                m = (self.next() >> 32) * n
        return m >> 32

    def bernoulli(self, p):
        if not p > 0.0:
            return 0
        if p >= 1.0:
            return 1
        return 1 if self.uniform() < p else 0

    def normal(self):
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)

    def sample_k(self, n, k):
        chosen = set()
        out = []
        for step in range(k):
            j = n - k + step
            t = self.below(j + 1)
            if t in chosen:
                t = j
            chosen.add(t)
            out.append(t)
        return sorted(out)


STREAM_DATA = 0xDA7A5E7


def stream_worker(i):
    return (1 << 32) + i


# ----------------------------------------------------------------------------------------------
# The data (docs/protocol.md, "The data")


def lround(x):
    r = math.floor(abs(x))
    if abs(x) - r >= 0.5:
        r += 1
    return int(r) if x >= 0 else -int(r)


def synthetic(rows, cols, density, groups, seed):
    """Rows as lists of (column, value), and labels."""
    rng = Rng(seed, STREAM_DATA)
    features = cols - 1
    c = math.sqrt(density * float(features) + 1.0)
    w0 = [rng.normal() / c for _ in range(cols)]
    data, labels = [None] * rows, [0.0] * rows
    for g in range(groups):
        w = [w0[j] + rng.normal() / c for j in range(cols)]
        freq = [min(1.0, density * (0.2 + 1.6 * rng.uniform())) for _ in range(features)]
        pos_share = 0.3 + 0.4 * rng.uniform()
        begin, end = g * rows // groups, (g + 1) * rows // groups
        ranked = []
        q = max(freq)
        gaps = float(rows) * float(features) > 1e9 and q <= 0.5  # DATA_SYNTH_DENSE_MAX
        for t in range(begin, end):
            score = w[features]
            row = []
            for j in range(0 if gaps else features):
                if rng.uniform() < freq[j]:
                    row.append((j, 1.0))
                    score += w[j]
            nxt = -1.0
            while gaps:
                nxt += 1.0 + math.floor(math.log1p(-rng.uniform()) / math.log1p(-q))
                if nxt >= float(features):
                    break
                if rng.uniform() < freq[int(nxt)] / q:
                    row.append((int(nxt), 1.0))
                    score += w[int(nxt)]
            row.append((features, 1.0))
            data[t] = row
            ranked.append((score + 0.5 * rng.normal(), t))
        ranked.sort()
        m = end - begin
        pos = min(max(lround(pos_share * float(m)), 1), m - 1)
        for j, (_, t) in enumerate(ranked):
            labels[t] = 1.0 if j >= m - pos else -1.0
    return data, labels


def fingerprint(rows, labels, cols):
    buf = bytearray(struct.pack("<QQ", len(rows), cols))
    for row, y in zip(rows, labels):
        buf += struct.pack("<Q", len(row))
        for j, v in row:
            buf += struct.pack("<Id", j, v)
        buf += struct.pack("<d", y)
    return fnv1a(buf)


# ----------------------------------------------------------------------------------------------
# The loss (docs/protocol.md, "The loss and its gradient")


def sigmoid(v):
    if v >= 0.0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def phi(kind, z, y):
    if kind == "nonconvex":
        u = sigmoid(-y * z)
        return u * u, -2.0 * (1.0 - u) * u * u * y
    if kind == "logreg":
        v = y * z
        e = math.exp(-abs(v))
        if v >= 0.0:
            return math.log1p(e), -y * (e / (1.0 + e))
        return -v + math.log1p(e), -y / (1.0 + e)
    r = z - y
    return 0.5 * r * r, r


def norm_sq(x):
    s = 0.0
    for v in x:
        s += v * v
    return s


class Shard:
    def __init__(self, rows, labels, dim, kind, lam):
        self.rows, self.labels, self.dim, self.kind, self.lam = rows, labels, dim, kind, lam

    def value_grad(self, x):
        g = [0.0] * self.dim
        total = 0.0
        for row, y in zip(self.rows, self.labels):
            z = 0.0
            for j, v in row:
                z += v * x[j]
            f, dphi = phi(self.kind, z, y)
            total += f
            for j, v in row:
                g[j] += dphi * v
        inv = 1.0 / len(self.rows)
        g = [gj * inv for gj in g]
        f = total * inv
        if self.lam > 0.0:
            g = [gj + self.lam * xj for gj, xj in zip(g, x)]
            f += 0.5 * self.lam * norm_sq(x)
        return f, g


# ----------------------------------------------------------------------------------------------
# The messages (docs/protocol.md, "Encoding conventions" and "The messages")


def f64s(x):
    return struct.pack("<%dd" % len(x), *x)


def decode(frame):
    """The message as a list [version, type, ...], or raises ValueError naming the problem."""
    try:
        msg = msgpack.unpackb(frame, raw=False, strict_map_key=True)
    except Exception as e:  # msgpack raises several types for bad bytes
        raise ValueError("not one MessagePack object: %s" % e)
    if not isinstance(msg, list) or len(msg) < 2:
        raise ValueError("a message is an array [version, type, ...]")
    if msg[0] != VERSION:
        raise ValueError("protocol version %r, expected %d" % (msg[0], VERSION))
    if msg[1] not in NFIELDS:
        raise ValueError("unexpected message type %r on the broadcast" % (msg[1],))
    if len(msg) - 2 != NFIELDS[msg[1]]:
        raise ValueError("type %d: got %d fields, expected %d" % (msg[1], len(msg) - 2,
                                                                   NFIELDS[msg[1]]))
    return msg


def check_round(msg, dim):
    """seq, k, coin, g, part, patch, digest, metrics, checkpoint; g a list (dense) or None, patch
    (idx, val) or None."""
    seq, k, coin, g, part, pidx, pval, digest, metrics, checkpoint = msg[2:]
    if not isinstance(seq, int) or not isinstance(k, int) or seq < 0 or k < 0:
        raise ValueError("round: seq and round must be unsigned integers")
    if coin not in (True, False, 0, 1):
        raise ValueError("round %d: coin is %r" % (k, coin))
    if g is not None:
        if not isinstance(g, bytes) or len(g) != 8 * dim:
            raise ValueError("round %d: g is not a bin of %d bytes" % (k, 8 * dim))
        g = list(struct.unpack("<%dd" % dim, g))
        if not all(math.isfinite(v) for v in g):
            raise ValueError("round %d: g is not finite" % k)
    if part is not None:
        if not isinstance(part, bytes) or len(part) % 4:
            raise ValueError("round %d: part is not a bin of uint32" % k)
        part = list(struct.unpack("<%dI" % (len(part) // 4), part))
    patch = None
    if pidx is not None or pval is not None:
        if g is not None:
            raise ValueError("round %d: g travels both dense and as a patch" % k)
        if not isinstance(pidx, bytes) or not isinstance(pval, bytes) or len(pidx) % 4 or \
                len(pval) != 2 * len(pidx):
            raise ValueError("round %d: the patch is not n uint32 and n doubles" % k)
        idx = list(struct.unpack("<%dI" % (len(pidx) // 4), pidx))
        val = list(struct.unpack("<%dd" % len(idx), pval))
        if any(j >= dim for j in idx) or any(b <= a for a, b in zip(idx, idx[1:])):
            raise ValueError("round %d: patch indices not increasing below d" % k)
        if not all(math.isfinite(v) for v in val):
            raise ValueError("round %d: the patch is not finite" % k)
        patch = (idx, val)
    if not isinstance(digest, int) or digest < 0:
        raise ValueError("round %d: digest is not an unsigned integer" % k)
    if metrics not in (True, False, 0, 1):
        raise ValueError("round %d: metrics is %r" % (k, metrics))
    if checkpoint not in (True, False, 0, 1):
        raise ValueError("round %d: checkpoint is %r" % (k, checkpoint))
    return seq, k, int(coin), g, part, patch, digest, bool(metrics), bool(checkpoint)


# ----------------------------------------------------------------------------------------------
# The worker


class Worker:
    def __init__(self, cfg, wid, bcast, up):
        self.id, self.cfg = wid, cfg
        n = int(float(cfg["n"]))
        if not 0 <= wid < n:
            die("--id %d is outside 0..%d" % (wid, n - 1))
        self.method, self.comp = cfg["method"], cfg["compressor"]
        if self.method not in ("gd", "marina"):
            die("method = '%s': this worker implements gd and marina" % self.method)
        if self.method == "gd":
            self.comp = "identity"  # GD sends exact gradients (docs/protocol.md)
        if self.comp not in ("identity", "randk"):
            die("compressor = '%s': this worker implements identity and randk" % self.comp)
        if (cfg["dataset"] != "synthetic" or int(float(cfg["synth_rank"])) != 0
                or float(cfg["synth_cond"]) != 1.0):
            die("this worker generates the synthetic data set only "
                "(synth_rank = 0, synth_cond = 1)")
        if cfg["reg"] != "none":
            die("reg = '%s': this worker has no regulariser" % cfg["reg"])
        if cfg["gamma"] == "theory":
            die("gamma = theory: this worker does not resolve the theory; set gamma")
        self.gamma = float(cfg["gamma"])
        self.seed = int(float(cfg["seed"]))
        self.timeout_s = float(cfg["timeout_s"])
        rows, dim = int(float(cfg["synth_rows"])), int(float(cfg["synth_d"]))
        data, labels = synthetic(rows, dim, float(cfg["synth_density"]), n, self.seed)
        m = rows // n  # the paper's split: m rows per worker, the remainder unused
        lo, hi = wid * m, (wid + 1) * m
        self.dim, self.m = dim, m
        self.shard = Shard(data[lo:hi], labels[lo:hi], dim, cfg["loss"], float(cfg["lambda"]))
        if cfg["loss"] not in ("nonconvex", "logreg", "quadratic"):
            die("loss = '%s' is unknown" % cfg["loss"])
        self.k = int(float(cfg["k"]))
        if self.comp == "randk" and not 1 <= self.k <= dim:
            die("k = %d is outside 1..%d" % (self.k, dim))
        self.text = join_text(cfg)
        self.digest = fnv1a(self.text.encode())
        self.fp = fingerprint(data[lo:hi], labels[lo:hi], dim)
        self.rng = Rng(self.seed, stream_worker(wid))
        self.x = [0.0] * dim
        self.g = None  # g^{k-1} of the last ROUND taken: a patch applies to it
        self.grad_old = None
        self.next_round = 0
        self.last_seq = 0
        self.ctx = zmq.Context()
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.RCVHWM, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.push = self.ctx.socket(zmq.PUSH)
        self.push.setsockopt(zmq.SNDHWM, 0)
        self.push.setsockopt(zmq.LINGER, 2000)
        curve_keys(cfg, wid, (self.sub, self.push))
        self.sub.connect(bcast)
        self.push.connect(up)

    def send(self, *fields):
        self.push.send(msgpack.packb([VERSION] + list(fields), use_bin_type=True))

    def answer(self, k, coin, g, metrics, checkpoint):
        if k > 0:
            step = -self.gamma
            self.x = [xj + step * gj for xj, gj in zip(self.x, g)]
        f, grad = self.shard.value_grad(self.x)
        if k == 0 or coin:
            update = [UPDATE, k, self.id, 0, self.dim, None, f64s(grad), self.m]
        else:
            diff = [a + (-1.0) * b for a, b in zip(grad, self.grad_old)]
            idx = self.rng.sample_k(self.dim, self.k)
            scale = float(self.dim) / float(self.k)
            val = [diff[i] * scale for i in idx]
            update = [UPDATE, k, self.id, 1, self.dim, struct.pack("<%dI" % len(idx), *idx),
                      f64s(val), self.m]
        if metrics:
            if not math.isfinite(f) or not all(math.isfinite(v) for v in grad):
                die("round %d: the iterate diverged (f_i = %g)" % (k, f))
            # The metrics ride in the UPDATE: its two optional fields (docs/protocol.md, "UPDATE").
            update += [f, f64s(grad)]
        self.send(*update)
        self.grad_old = grad
        self.next_round = k + 1
        if checkpoint:
            # An empty STATE: this worker cannot save its state (docs/protocol.md, "STATE"); the
            # server then takes no checkpoint of this run.
            self.send(STATE, self.id, k, b"")

    def run(self):
        self.send(HELLO, ROLE_WORKER, self.id, os.getpid() & 0xFFFFFFFF, self.digest, self.fp,
                  self.text)
        ready_sent = False
        last_heard = last_resync = time.monotonic()
        rejected = 0
        while True:
            if not self.sub.poll(250):
                now = time.monotonic()
                if now - last_heard > self.timeout_s:
                    die("the server was silent for %.0f s" % self.timeout_s)
                if ready_sent and now - last_heard > RESYNC_AFTER_S and \
                        now - last_resync > RESYNC_AFTER_S:
                    self.send(RESYNC, self.id, self.last_seq)
                    last_resync = now
                continue
            frames = self.sub.recv_multipart()
            last_heard = time.monotonic()
            try:
                if len(frames) != 1:
                    raise ValueError("multipart message")
                msg = decode(frames[0])
                if msg[1] == ROUND:
                    seq, k, coin, g, part, patch, digest, metrics, ckpt = check_round(msg, self.dim)
                    if k > 0 and g is None and patch is None:
                        raise ValueError("round %d carries no g" % k)
            except ValueError as e:
                rejected += 1
                log("worker %d: rejected a broadcast (%d bytes): %s"
                    % (self.id, len(frames[0]), e))
                continue
            t = msg[1]
            if t == PING:
                self.last_seq = msg[2]
                if not ready_sent:
                    self.send(READY, ROLE_WORKER, self.id)
                    ready_sent = True
            elif t == ROUND:
                self.last_seq = seq
                if k < self.next_round:
                    continue  # resent after a RESYNC: already answered
                if k > self.next_round:
                    die("worker %d: got round %d but expected %d" % (self.id, k, self.next_round))
                if part is not None:
                    die("round %d names participants; gd and marina never do" % k)
                if k > 0:
                    if patch is not None:
                        if self.g is None:
                            self.send(RESYNC, self.id, self.last_seq)  # nothing to patch
                            continue
                        for j, v in zip(*patch):
                            self.g[j] = v
                    else:
                        self.g = g
                    if g_digest(self.g) != digest:
                        log("worker %d: round %d: its g differs from the server's: resync"
                            % (self.id, k))
                        self.g = None
                        self.send(RESYNC, self.id, self.last_seq)
                        continue
                self.answer(k, coin, self.g, metrics, ckpt)
            elif t == REFUSE:
                role, sender, pid, reason = msg[2:]
                if role == ROLE_WORKER and sender == self.id and pid == os.getpid() & 0xFFFFFFFF:
                    die(reason)
            elif t == STOP:
                status, reason = msg[2:]
                log("worker %d: the run is %s%s%s" % (self.id, status, ": " if reason else "",
                                                      reason))
                return 0  # like `marina worker`: a run the server ended is not our failure


def main(argv):
    config, wid, connect, overrides = None, None, None, []
    i = 1
    while i < len(argv):
        a = argv[i]
        if a == "--config" and i + 1 < len(argv):
            config, i = argv[i + 1], i + 2
        elif a == "--id" and i + 1 < len(argv):
            wid, i = int(argv[i + 1]), i + 2
        elif a == "--connect" and i + 2 < len(argv):
            connect, i = (argv[i + 1], argv[i + 2]), i + 3
        elif "=" in a and not a.startswith("-"):
            overrides.append(a)
            i += 1
        else:
            die("usage: worker.py --config FILE [key=value ...] --id I --connect BCAST UP")
    if wid is None or connect is None:
        die("--id I and --connect BCAST UP are required")
    w = Worker(read_config(config, overrides), wid, connect[0], connect[1])
    return w.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
