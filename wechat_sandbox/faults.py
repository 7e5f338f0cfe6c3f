"""Faults injected into API endpoints at run time: latency, "system busy", 40001 storms, dropped connections,
gateway errors (HTTP 503) and any errcode."""
from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields

ANY_ENDPOINT = "*"


@dataclass
class Fault:
    latency_ms: int = 0
    busy_rate: float = 0.0       # share of calls answered {"errcode": -1}
    busy_next: int = 0           # the next N calls answer -1
    drop_rate: float = 0.0       # share of calls whose connection is closed without an answer
    drop_next: int = 0           # the next N calls are dropped
    token_storm: int = 0         # the next N calls made with a token issued before the storm answer 40001
    http_error_next: int = 0     # the next N calls answer HTTP 503 with an HTML page (a gateway in trouble)
    errcode: int = 0             # with errcode_next: the next N calls answer this errcode
    errcode_next: int = 0
    storm_before_serial: int = 0

    @classmethod
    def from_json(cls, body: dict, latest_token_serial: int) -> "Fault":
        known = {f.name for f in fields(cls)} - {"storm_before_serial"}
        unknown = set(body) - known - {"endpoint"}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        fault = cls(**{name: body[name] for name in known if name in body})
        fault.storm_before_serial = latest_token_serial
        return fault

    def view(self) -> dict:
        return asdict(self)


class Faults:
    def __init__(self, seed: int | None = None):
        self._by_endpoint: dict[str, Fault] = {}
        self._random = random.Random(seed)

    def set(self, endpoint: str, fault: Fault) -> None:
        self._by_endpoint[endpoint] = fault

    def clear(self, endpoint: str | None = None) -> None:
        if endpoint is None:
            self._by_endpoint.clear()
        else:
            self._by_endpoint.pop(endpoint, None)

    def reseed(self, seed: int | None) -> None:
        self._random.seed(seed)

    def view(self) -> dict:
        return {endpoint: fault.view() for endpoint, fault in self._by_endpoint.items()}

    def for_endpoint(self, endpoint: str) -> Fault | None:
        return self._by_endpoint.get(endpoint) or self._by_endpoint.get(ANY_ENDPOINT)

    def drops(self, fault: Fault) -> bool:
        return self._spend(fault, "drop_next") or (fault.drop_rate > 0 and self._random.random() < fault.drop_rate)

    def busy(self, fault: Fault) -> bool:
        return self._spend(fault, "busy_next") or (fault.busy_rate > 0 and self._random.random() < fault.busy_rate)

    def http_error(self, fault: Fault) -> bool:
        return self._spend(fault, "http_error_next")

    def forced_errcode(self, fault: Fault) -> int:
        return fault.errcode if fault.errcode and self._spend(fault, "errcode_next") else 0

    @staticmethod
    def storms(fault: Fault, token_serial: int) -> bool:
        if fault.token_storm > 0 and token_serial <= fault.storm_before_serial:
            fault.token_storm -= 1
            return True
        return False

    @staticmethod
    def _spend(fault: Fault, counter: str) -> bool:
        left = getattr(fault, counter)
        if left > 0:
            setattr(fault, counter, left - 1)
            return True
        return False
