"""A local Redis Cluster of three masters for the suite: redis-server in cluster mode on free loopback ports
of a given range, joined with `redis-cli --cluster create`, data in a temporary directory, torn down after.

    python -m tests.redis_cluster [--ports 7100-7199] -- COMMAND...

starts the cluster, runs COMMAND with REDIS_URL=redis+cluster://127.0.0.1:PORT (one seed node) and exits with
COMMAND's status, after stopping every node.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from bot.embedded_redis import find_redis_server

MASTERS = 3


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
    def __init__(self, data_dir: Path, ports: list[int]):
        self.data_dir = Path(data_dir)
        self.ports = ports
        self._processes: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def start(self, timeout: float = 30.0) -> "LocalCluster":
        for port in self.ports:
            self._processes.append(self._start_node(port))
        for port in self.ports:
            _wait_for_ping(port, timeout)
        self._create()
        self._wait_until_ok(timeout)
        return self

    def _start_node(self, port: int) -> subprocess.Popen:
        node_dir = self.data_dir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        args = [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(node_dir),
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                "--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no",
                "--logfile", "redis.log"]
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def _create(self) -> None:
        redis_cli = shutil.which("redis-cli") or str(Path(find_redis_server()).with_name("redis-cli"))
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        done = subprocess.run([redis_cli, "--cluster", "create", *nodes, "--cluster-replicas", "0",
                               "--cluster-yes"], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise ClusterError(f"redis-cli --cluster create failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")

    def _wait_until_ok(self, timeout: float) -> None:
        """Every node sees the whole cluster, all 16384 slots served."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(_cluster_ok(port) for port in self.ports):
                return
            time.sleep(0.1)
        raise ClusterError(f"the cluster on {self.ports} did not become ok within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.terminate()
        for process in self._processes:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        self._processes = []

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


def _cluster_ok(port: int) -> bool:
    with redis.Redis(port=port, decode_responses=True) as client:
        info = client.execute_command("CLUSTER", "INFO")
    if isinstance(info, bytes | str):
        info = dict(line.split(":", 1) for line in str(info).splitlines() if ":" in line)
    return info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == MASTERS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ports", default="7100-7199", help="the range of loopback ports the nodes may take")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run, after --")
    first, last = (int(p) for p in args.ports.split("-"))
    with tempfile.TemporaryDirectory(prefix="redis-cluster-") as data_dir:
        with LocalCluster(Path(data_dir), free_ports(first, last, MASTERS)) as cluster:
            print(f"redis cluster: {MASTERS} masters on ports {cluster.ports}, REDIS_URL={cluster.url}", flush=True)
            return subprocess.call(command, env={**os.environ, "REDIS_URL": cluster.url})


if __name__ == "__main__":
    sys.exit(main())
