"""The container example (compose.yaml, deploy/): structure checked without a container runtime.

No Docker or Podman is assumed: the files are parsed and cross-checked (services, the load
balancer's upstreams against the replicas, settings, the image's build context).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parent.parent
REPLICAS = ("replica-1", "replica-2", "replica-3")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "compose.yaml").read_text("utf-8"))  # anchors and << merged
    assert isinstance(data, dict)
    return data


def test_services_are_valkey_three_replicas_and_a_load_balancer(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"valkey", *REPLICAS, "lb"}
    assert re.fullmatch(r"valkey/valkey:8(\.\d+)*(-\w+)?", services["valkey"]["image"])
    assert "valkey-cli" in services["valkey"]["healthcheck"]["test"]
    for name, service in services.items():
        for dep in service.get("depends_on", []):
            assert dep in services, f"{name} depends on unknown {dep}"
        assert set(service) <= {
            "image",
            "build",
            "command",
            "environment",
            "depends_on",
            "healthcheck",
            "ports",
            "volumes",
            "restart",
            "stop_grace_period",
        }, name


def test_every_replica_serves_http_with_redis_and_a_token(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in REPLICAS:
        replica = services[name]
        command = replica["command"]
        assert command[command.index("--transport") + 1] == "http"
        assert command[command.index("--port") + 1] == "8000"
        env = replica["environment"]
        assert env["AUTODOCS_REDIS_URL"] == "redis://valkey:6379/0"
        assert env["AUTODOCS_HTTP_TOKEN"].startswith("${AUTODOCS_HTTP_TOKEN:?")  # required
        assert replica["depends_on"]["valkey"]["condition"] == "service_healthy"
        assert "/readyz" in " ".join(replica["healthcheck"]["test"])
        build = replica["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text("utf-8")
    assert '"/src[mcp,redis]"' in dockerfile
    assert re.search(r"^USER \w+", dockerfile, re.M)  # not root


def test_the_load_balancer_sends_to_exactly_the_replicas(compose: dict[str, Any]) -> None:
    lb = compose["services"]["lb"]
    assert lb["image"].startswith("nginx:")
    mounts = {v.split(":")[0]: v.split(":")[1] for v in lb["volumes"]}
    assert mounts["./deploy/nginx.conf"] == "/etc/nginx/nginx.conf"
    conf = (ROOT / "deploy" / "nginx.conf").read_text("utf-8")
    assert conf.count("{") == conf.count("}")
    upstreams = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", conf, re.M)
    assert sorted(upstreams) == [(name, "8000") for name in REPLICAS]
    assert re.search(r"^\s*listen\s+8000;", conf, re.M)
    assert any(p.endswith(":8000:8000") for p in lb["ports"])
    assert re.search(r"proxy_buffering\s+off;", conf)  # SSE (progress) passes through
    assert re.search(r"proxy_pass\s+http://autodocs;", conf)
