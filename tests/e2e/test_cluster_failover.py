"""A Redis Cluster master killed (SIGKILL) while a till posts purchases to two `serve` processes, on a private
cluster of three masters with a replica each (append-only files, a node timeout of one second): the master's
replica takes over its slots, the processes find the new master by themselves (the till's retries are answered),
and every purchase the till was answered for is in the ledger once, none booked twice.

Replication is asynchronous, so the test first cuts the victim's replica off (it can no longer authenticate to
its master) and lets the load write on: when the master dies, it holds purchases its replica never received.
None of them was acknowledged, since a ledger change is answered only once a replica has it (WAIT); the till
sends them again and the new master books them. The consumers read on: every event reaches every consumer group."""
from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from loyalty_core import keys
from loyalty_core.redis_store.connection import connect
from tests.e2e.processes import private_port_range
from tests.e2e.test_faults import (_answered, members, read_everything, services_on, started, stopped_cleanly,
                                   tills_web_and_consumers)
from tests.e2e.test_processes import SECRETS
from tests.e2e.till_load import TillLoad, assert_booked_once
from tests.polling import until
from tests.redis_cluster import LocalCluster, free_ports as free_cluster_ports

pytestmark = pytest.mark.e2e

PURCHASES, BEFORE_THE_KILL = 600, 150


@pytest.fixture
def replicated_cluster(tmp_path):
    ports = free_cluster_ports(*private_port_range(), 6)
    with LocalCluster(tmp_path / "cluster", ports, replicas=1, node_timeout_ms=1000, appendonly=True) as cluster:
        yield cluster


async def served_elsewhere(redis, key: str, killed_port: int) -> bool:
    """The slot of `key` is served by a master other than the one killed (the slot map asked anew)."""
    await redis.nodes_manager.initialize()
    return redis.get_node_from_key(key).port != killed_port


async def replica_of(master_port: int) -> int:
    async with aioredis.Redis(port=master_port, decode_responses=True) as master:
        return int((await master.info("replication"))["slave0"]["port"])


async def cut_off(replica_port: int) -> None:
    """The replica loses its link to its master and cannot make it again (a password its master refuses)."""
    async with aioredis.Redis(port=replica_port) as replica:
        await replica.config_set("masterauth", "not-the-password")
        await replica.execute_command("CLIENT", "KILL", "TYPE", "master")


async def replica_behind(master_port: int, replica_port: int) -> bool:
    """The master holds writes its replica has not received."""
    async with aioredis.Redis(port=master_port) as master, aioredis.Redis(port=replica_port) as replica:
        written = (await master.info("replication"))["master_repl_offset"]
        received = (await replica.info("replication"))
    return received["master_link_status"] == "down" and received["slave_repl_offset"] < written


async def test_a_cluster_master_killed_mid_load_fails_over_and_loses_no_acknowledged_purchase(
        replicated_cluster, tmp_path):
    cluster = replicated_cluster
    redis = connect(cluster.url)
    try:
        services = services_on(redis)
        member_ids = await members(services, 20, "oFail")
        victim_key = keys.points_account(next(iter(member_ids.values())))
        victim = redis.get_node_from_key(victim_key).port
        ports, processes = tills_web_and_consumers(cluster.url, tmp_path)
        try:
            started(processes)
            load = TillLoad(ports, SECRETS["POS_API_SECRET"])
            replication_cut = asyncio.Event()
            running = asyncio.create_task(load.run(load.purchases(list(member_ids), PURCHASES, "FAIL"),
                                                   hold=(BEFORE_THE_KILL, replication_cut)))
            assert await until(lambda: _answered(load, BEFORE_THE_KILL), timeout=30)
            replica = await replica_of(victim)
            await cut_off(replica)
            replication_cut.set()
            assert await until(lambda: _answered(load, BEFORE_THE_KILL + 20), timeout=30)
            assert await until(lambda: replica_behind(victim, replica), timeout=10)
            acknowledged_before = dict(load.answers)
            assert len(acknowledged_before) < PURCHASES                                # killed mid-load
            cluster.kill_node(victim)
            await asyncio.wait_for(running, 60)             # the load goes on while the slots change hands
            assert await served_elsewhere(redis, victim_key, victim)
            assert len(load.answers) == PURCHASES and set(acknowledged_before) <= set(load.answers)
            assert {txn: load.answers[txn] for txn in acknowledged_before} == acknowledged_before
            await assert_booked_once(services, load, member_ids)
            # the events of purchases whose relay to the stream the failover cut are relayed by the consumers'
            # outbox sweep (every 30 s), then read by every consumer group
            assert await until(lambda: read_everything(redis), timeout=90), await redis.xinfo_groups(keys.OUTBOX_STREAM)
        finally:
            stopped_cleanly(processes)
    finally:
        await redis.aclose()
