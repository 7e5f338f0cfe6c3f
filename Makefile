# Two commands matter: `make demo` and `make test`. Everything else is for benchmarks and upkeep.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv test test-fast test-cluster test-cluster-core demo system-deps bench bench-callback bench-fanout bench-ledger \
        bench-push bench-events bench-campaign bench-load bench-memory bench-import clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	@touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

# Two test processes (pytest-xdist), each on its own database: most tests wait on Redis, processes or a browser.
test: $(STAMP) system-deps
	$(PY) -m pytest -q -p no:cacheprovider -n 2

test-fast: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -m "not e2e and not browser"

# The integration and end-to-end tests against local Redis Clusters of 3 masters (tests/redis_cluster.py, ports
# of CLUSTER_PORTS, torn down after): two test processes, each on a cluster of its own, as every test flushes its
# Redis. Left out, since they never reach the configured Redis: the WeChat sandbox's own tests, image rendering,
# the wheel build, the private redis-servers of the embedded-Redis and outage tests, the demo (its own embedded
# Redis) and the browser.
CLUSTER_PORTS ?= 7100-7199
CLUSTER_TESTS ?= tests/integration tests/e2e
CLUSTER_SKIP  := tests/integration/test_sandbox_platform.py tests/integration/test_sandbox_quotas.py \
                 tests/integration/test_sandbox_wechatpy.py tests/integration/test_sandbox_chat_page.py \
                 tests/integration/test_images.py tests/integration/test_package_build.py \
                 tests/integration/test_embedded_redis.py tests/integration/test_redis_outage.py tests/e2e/test_demo.py \
                 tests/e2e/test_cluster_failover.py
test-cluster: $(STAMP)
	$(PY) -m tests.redis_cluster --ports $(CLUSTER_PORTS) --clusters 2 -- \
	    $(PY) -m pytest -q -p no:cacheprovider -n 2 -m "not browser" \
	    $(CLUSTER_TESTS) $(addprefix --ignore=,$(CLUSTER_SKIP))

# The tests that carry the cluster's risks (cross-slot scripts, partitioned indexes, streams per partition,
# leases, several processes): a quicker run on the clusters than the whole of test-cluster, which CI runs.
CLUSTER_CORE := $(addprefix tests/integration/test_,ledger.py ledger_machine.py member_facts.py segments.py \
                campaigns.py push_store.py sender.py stream_consumer.py coupon_api.py referrals.py wechat_api.py \
                scheduler.py events.py communities.py broadcasts.py redemption.py till_api.py cluster_slots.py) \
                tests/e2e/test_processes.py
test-cluster-core: $(STAMP)
	$(MAKE) test-cluster CLUSTER_TESTS="$(CLUSTER_CORE)"

demo: $(STAMP)
	@bash scripts/system-deps.sh fonts-wqy-microhei fonts-noto-color-emoji
	$(PY) -m bot demo --processes $(or $(N),1)

bench: bench-callback bench-fanout bench-ledger bench-push bench-events bench-campaign bench-load bench-memory bench-import

bench-callback: $(STAMP)
	@bash scripts/system-deps.sh wrk
	$(PY) -m bench.callback

bench-fanout: $(STAMP)
	$(PY) -m bench.fanout

bench-ledger: $(STAMP)
	$(PY) -m bench.ledger

bench-push: $(STAMP)
	$(PY) -m bench.push
	$(PY) -m bench.scans

bench-events: $(STAMP)
	$(PY) -m bench.events

bench-campaign: $(STAMP)
	$(PY) -m bench.campaign

bench-load: $(STAMP)
	@bash scripts/system-deps.sh wrk
	$(PY) -m bench.load

bench-memory: $(STAMP)
	$(PY) -m bench.memory

bench-import: $(STAMP)
	$(PY) -m bench.import_members

clean:
	rm -rf $(VENV) var build *.egg-info test-output
