"""Local Redis Clusters for the suite: redis-server in cluster mode on free loopback ports of a given range,
joined with `redis-cli --cluster create`, data in a temporary directory, torn down after.

    python -m tests.redis_cluster [--ports 7100-7199] [--clusters 2] -- COMMAND...

starts the clusters (three masters each), runs COMMAND with REDIS_URL=redis+cluster://127.0.0.1:PORT (a seed
node of the first) and REDIS_CLUSTER_URLS (one URL per cluster, space-separated: a pytest-xdist worker takes its
own, since every test flushes its Redis) and exits with COMMAND's status, after stopping every node.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from bot.embedded_redis import find_redis_server

MASTERS = 3
CLUSTER_URLS_VARIABLE = "REDIS_CLUSTER_URLS"


class ClusterError(RuntimeError):
    pass


def free_ports(first: int, last: int, count: int) -> list[int]:
    """`count` ports of first..last that nothing listens on (each with its cluster bus port, +10000, free too)."""
    found = []
    for port in range(first, last + 1):
        if all(_is_free(p) for p in (port, port + 10000)):
            found.append(port)
            if len(found) == count:
                return found
    raise ClusterError(f"fewer than {count} free ports in {first}-{last}")


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class LocalCluster:
    """`replicas` per master (the ports are masters first, then their replicas, as redis-cli assigns them);
    `node_timeout_ms` is how long a master may be silent before its replica takes over; `appendonly` keeps every
    node's writes in its append-only file (fsynced every second), so a node restarted keeps what it had."""

    def __init__(self, data_dir: Path, ports: list[int], *, replicas: int = 0, node_timeout_ms: int = 2000,
                 appendonly: bool = False):
        self.data_dir = Path(data_dir)
        self.ports = ports
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.appendonly = appendonly
        self._processes: dict[int, subprocess.Popen] = {}

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def start(self, timeout: float = 30.0) -> "LocalCluster":
        for port in self.ports:
            self.start_node(port, timeout)
        self._create()
        self.wait_until_ok(timeout)
        return self

    def start_node(self, port: int, timeout: float = 30.0) -> None:
        """Start (or start again, on its own directory and nodes.conf) the node of `port`."""
        node_dir = self.data_dir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        args = [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(node_dir),
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", str(self.node_timeout_ms), "--save", "",
                "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "everysec",
                "--logfile", "redis.log"]
        self._processes[port] = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                 start_new_session=True)
        _wait_for_ping(port, timeout)

    def kill_node(self, port: int) -> None:
        """SIGKILL the node of `port` (no AOF flush, no goodbye to the others) and reap it."""
        process = self._processes.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def _create(self) -> None:
        redis_cli = shutil.which("redis-cli") or str(Path(find_redis_server()).with_name("redis-cli"))
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        done = subprocess.run([redis_cli, "--cluster", "create", *nodes, "--cluster-replicas", str(self.replicas),
                               "--cluster-yes"], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise ClusterError(f"redis-cli --cluster create failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")

    def wait_until_ok(self, timeout: float = 30.0) -> None:
        """Every running node sees the whole cluster, all 16384 slots served, every replica in step with its
        master."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(_node_ready(port, len(self.ports)) for port in self._processes):
                return
            time.sleep(0.1)
        raise ClusterError(f"the cluster on {self.ports} did not become ok within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        for process in self._processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self._processes.values():
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        self._processes = {}

    def __enter__(self) -> "LocalCluster":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


def _wait_for_ping(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with redis.Redis(port=port, socket_connect_timeout=0.2) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.ConnectionError, redis.BusyLoadingError):
                if client.ping():
                    return
            time.sleep(0.05)
    raise ClusterError(f"redis-server on port {port} did not answer within {timeout} s")


def _node_ready(port: int, nodes: int) -> bool:
    with redis.Redis(port=port, decode_responses=True) as client:
        info = _fields(client.execute_command("CLUSTER", "INFO"))
        replication = client.info("replication")
    in_step = replication["role"] == "master" or replication.get("master_link_status") == "up"
    return info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == nodes and in_step


def _fields(info) -> dict:
    if isinstance(info, bytes | str):
        return dict(line.split(":", 1) for line in str(info).splitlines() if ":" in line)
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ports", default="7100-7199", help="the range of loopback ports the nodes may take")
    parser.add_argument("--clusters", type=int, default=1, help="how many clusters (one per test process)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run, after --")
    first, last = (int(p) for p in args.ports.split("-"))
    ports = free_ports(first, last, MASTERS * args.clusters)
    with tempfile.TemporaryDirectory(prefix="redis-cluster-") as data_dir, contextlib.ExitStack() as running:
        clusters = [running.enter_context(LocalCluster(Path(data_dir) / str(n), ports[n * MASTERS:(n + 1) * MASTERS]))
                    for n in range(args.clusters)]
        urls = [cluster.url for cluster in clusters]
        for cluster in clusters:
            print(f"redis cluster: {MASTERS} masters on ports {cluster.ports}, {cluster.url}", flush=True)
        return subprocess.call(command, env={**os.environ, "REDIS_URL": urls[0], CLUSTER_URLS_VARIABLE: " ".join(urls)})


if __name__ == "__main__":
    sys.exit(main())
