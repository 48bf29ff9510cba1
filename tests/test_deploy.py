"""deploy/: the compose and Kubernetes files parse and agree with each other and with fedcat.

The fedcat configs shipped in them are loaded by fedcat's own config loader,
so a renamed key or a wrong type fails here, not on an operator's cluster.
The image's package is built here from exactly the files the Dockerfile copies,
so a folder the Dockerfile forgets fails here, not in `docker build`.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from fedcat.api.cli import build_parser
from fedcat.harvester.config import Backend, Config, config_from_dict

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose"
K8S = DEPLOY / "k8s"
ES_IMAGE = re.compile(r"^docker\.elastic\.co/elasticsearch/elasticsearch:8\.\d+\.\d+$")
FEDCAT_IMAGE = "fedcat:0.1.0"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def subcommands() -> set[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return set(action.choices)  # type: ignore[arg-type]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    return dict(env) if isinstance(env, dict) else dict(e.split("=", 1) for e in env)


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path → source (volume name or host path) of a compose service."""
    out = {}
    for spec in service.get("volumes", []):
        source, target = spec.split(":")[:2]
        out[target] = source
    return out


def under(path: str, mounts: dict[str, str]) -> str | None:
    """The mount point ``path`` lies under, if any."""
    for target in mounts:
        if path == target or path.startswith(target.rstrip("/") + "/"):
            return target
    return None


# -- compose -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(COMPOSE / "compose.yaml")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def compose_config() -> Config:
    return config_from_dict(load(COMPOSE / "fedcat.yaml"), path=str(COMPOSE / "fedcat.yaml"))


def es_nodes(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items() if ES_IMAGE.match(svc.get("image", ""))
            and name != "setup"}


def test_compose_runs_three_elasticsearch_nodes_two_api_replicas_a_scheduler_and_a_proxy(
        compose: dict[str, Any]) -> None:
    services = compose["services"]
    nodes = es_nodes(compose)
    assert sorted(nodes) == ["es01", "es02", "es03"]
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["scheduler"].get("deploy", {}).get("replicas", 1) == 1
    assert services["proxy"]["image"].startswith("nginx:")
    for name in ("api", "scheduler"):
        assert services[name]["image"] == FEDCAT_IMAGE
        assert services[name]["command"][0] in subcommands()
    assert services["api"]["command"] == ["serve"] and services["scheduler"]["command"] == ["schedule"]


def test_compose_cluster_nodes_know_each_other_and_use_their_own_certificates(compose: dict[str, Any]) -> None:
    nodes = es_nodes(compose)
    script = (COMPOSE / "es-setup.sh").read_text()
    assert re.search(r"for node in (.+); do", script).group(1).split() == sorted(nodes)  # type: ignore[union-attr]
    data_volumes = set()
    for name, svc in nodes.items():
        env = env_of(svc)
        assert env["node.name"] == name
        assert set(env["cluster.initial_master_nodes"].split(",")) == set(nodes)
        assert set(env["discovery.seed_hosts"].split(",")) == set(nodes) - {name}
        for key in ("http.ssl.key", "http.ssl.certificate", "transport.ssl.key", "transport.ssl.certificate"):
            assert env[f"xpack.security.{key}"].startswith(f"certs/{name}/{name}.")
        vols = mounts(svc)
        assert vols["/usr/share/elasticsearch/config/certs"] == "certs"
        data_volumes.add(vols["/usr/share/elasticsearch/data"])
        assert svc["healthcheck"]["test"]
    assert len(data_volumes) == 3
    assert data_volumes | {"certs", "fedcat-data"} <= set(compose["volumes"])
    assert "ELASTIC_PASSWORD" in env_of(nodes["es01"])


def test_compose_fedcat_config_points_at_the_cluster_and_the_mounted_files(
        compose: dict[str, Any], compose_config: Config) -> None:
    index = compose_config.index
    assert index.backend is Backend.ELASTICSEARCH
    assert index.url
    urls = [urlsplit(u) for u in index.url.split(",")]
    assert {u.hostname for u in urls} == set(es_nodes(compose))
    assert {(u.scheme, u.port) for u in urls} == {("https", 9200)}
    assert index.password is None  # from FEDCAT_ES_PASSWORD, never in the file
    for name in ("api", "scheduler"):
        svc = compose["services"][name]
        env, vols = env_of(svc), mounts(svc)
        assert vols[env["FEDCAT_CONFIG"]] == "./fedcat.yaml"
        assert "FEDCAT_ES_PASSWORD" in env
        assert index.ca_certs and vols[under(index.ca_certs, vols) or ""] == "certs"
        assert vols[compose_config.data_dir] == "fedcat-data"
        assert svc["depends_on"]["es01"]["condition"] == "service_healthy"
    assert any(s.id and s.schedule for s in compose_config.sources)  # the scheduler has work


def test_compose_proxy_reaches_the_api_port(compose: dict[str, Any], compose_config: Config) -> None:
    nginx = (COMPOSE / "nginx.conf").read_text()
    upstream = re.search(r"http://([\w-]+):(\d+)", nginx)
    assert upstream
    assert upstream.group(1) == "api"
    assert int(upstream.group(2)) == compose_config.api.port
    assert compose["services"]["api"]["expose"] == [str(compose_config.api.port)]
    assert compose_config.api.host == "0.0.0.0"
    health = " ".join(compose["services"]["api"]["healthcheck"]["test"])
    assert f"127.0.0.1:{compose_config.api.port}/readyz" in health
    listen = re.search(r"listen (\d+);", nginx)
    assert listen
    assert compose["services"]["proxy"]["ports"][0].endswith(f":{listen.group(1)}")
    assert compose["services"]["proxy"]["volumes"] == ["./nginx.conf:/etc/nginx/conf.d/default.conf:ro"]


def test_compose_builds_the_fedcat_image_from_the_repository(compose: dict[str, Any]) -> None:
    build = compose["services"]["api"]["build"]
    context = (COMPOSE / build["context"]).resolve()
    assert context == ROOT
    dockerfile = (context / build["dockerfile"]).read_text()
    assert re.search(r"^FROM python:3\.11", dockerfile, re.M)
    assert 'ENTRYPOINT ["fedcat"]' in dockerfile
    assert "ENV FEDCAT_CONFIG=/etc/fedcat/fedcat.yaml" in dockerfile
    config = load(COMPOSE / "fedcat.yaml")
    assert f"EXPOSE {config['api']['port']}" in dockerfile
    assert (COMPOSE / ".env.example").read_text().count("PASSWORD=\n") == 2  # no secret shipped


# -- the image's package --------------------------------------------------------------------


def setuptools_config() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]  # type: ignore[no-any-return]


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (keyword, arguments), continuation lines joined."""
    out = []
    for line in re.sub(r"\\\n", " ", dockerfile).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            out.append((keyword.upper(), arguments.strip()))
    return out


def dockerignore_patterns() -> list[str]:
    path = ROOT / ".dockerignore"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    patterns = [line.strip().strip("/") for line in lines if line.strip() and not line.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "exceptions (!) in .dockerignore: teach dockerignored()"
    return patterns


def dockerignored(relative: PurePosixPath, patterns: list[str]) -> bool:
    """Whether Docker leaves ``relative`` (a path in the build context) out of the context.

    A pattern matches a path or one of its parent folders, component by component (``*`` never
    crosses a ``/``); a leading ``**/`` lets it match at any depth.
    """
    parts = relative.parts
    for pattern in patterns:
        anywhere = pattern.startswith("**/")
        wanted = pattern.removeprefix("**/").split("/")
        for end in range(1, len(parts) + 1):
            for start in range(end) if anywhere else (0,):
                got = parts[start:end]
                if len(got) == len(wanted) and all(fnmatch.fnmatchcase(g, w) for g, w in zip(got, wanted)):
                    return True
    return False


def copy_into_image(dockerfile: str, image: Path) -> Path:
    """Run the Dockerfile's COPY and WORKDIR instructions up to ``RUN pip install .`` into the folder
    ``image`` (standing for the image's /), from the repository as build context; return the folder
    pip installs from."""
    patterns = dockerignore_patterns()

    def ignore(folder: str, names: list[str]) -> set[str]:
        here = PurePosixPath(Path(folder).relative_to(ROOT).as_posix())
        return {name for name in names if dockerignored(here / name, patterns)}

    workdir = PurePosixPath("/")
    for keyword, arguments in instructions(dockerfile):
        if keyword == "WORKDIR":
            workdir = workdir / arguments
        elif keyword == "RUN" and re.match(r"pip install \.(\s|$)", arguments):
            return image / workdir.relative_to("/")
        elif keyword == "ADD":
            raise AssertionError("ADD before `pip install .`: teach copy_into_image() its rules")
        elif keyword == "COPY":
            words = json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)
            flags = [w for w in words if w.startswith("--")]
            assert not any(f.startswith("--from") for f in flags), "COPY --from: not from the build context"
            *sources, target = [w for w in words if not w.startswith("--")]
            dest = image / (workdir / target).relative_to("/")
            for source in sources:
                paths = sorted(ROOT.glob(source))
                assert paths, f"COPY {source}: no such file in the build context"
                for path in paths:
                    relative = PurePosixPath(path.relative_to(ROOT).as_posix())
                    if dockerignored(relative, patterns):
                        continue
                    if path.is_dir():  # Docker copies a folder's contents, not the folder
                        shutil.copytree(path, dest, ignore=ignore, dirs_exist_ok=True)
                    elif target.endswith("/") or len(sources) > 1 or dest.is_dir():
                        dest.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(path, dest / path.name)
                    else:
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(path, dest)
    raise AssertionError("the Dockerfile has no `RUN pip install .`")


def build(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """Build the project in ``source`` as pip does, into ``out``; offline, with the running setuptools.

    A pure-Python wheel holds what setuptools' build_py puts in the build folder (plus its
    metadata, from egg_info). build_py is run directly: setuptools before 70.1 makes wheels only
    with the separate `wheel` package, which is not always installed.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-c", "from setuptools import setup; setup()", "--quiet",
         "egg_info", "--egg-base", str(out.parent), "build_py", "--build-lib", str(out)],
        cwd=source, capture_output=True, text=True, timeout=120,
    )


def package_files(root: Path) -> set[str]:
    """Every module and data file in fedcat's package folders under ``root``, as its path once installed."""
    out = set()
    for package, folder in setuptools_config()["package-dir"].items():
        for path in (root / folder).rglob("*"):
            relative = path.relative_to(root / folder).parts
            if (path.is_file() and path.suffix != ".pyc"
                    and not any(p == "__pycache__" or p.startswith(".") for p in relative)):
                out.add("/".join([*package.split("."), *relative]))
    return out


def test_the_image_installs_every_module_and_data_file_from_the_files_the_dockerfile_copies(tmp_path: Path) -> None:
    pytest.importorskip("setuptools")
    source = copy_into_image((DEPLOY / "Dockerfile").read_text(encoding="utf-8"), tmp_path / "image")
    out = tmp_path / "build" / "lib"
    result = build(source, out)
    assert result.returncode == 0, result.stdout + result.stderr
    built = {path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()}
    expected = package_files(ROOT)
    for needed in ("fedcat/harvester/tagging/rules.yaml", "fedcat/profiles/ckan.yaml",
                   "fedcat/api/web/templates/base.html", "fedcat/api/web/static/fedcat.css",
                   "fedcat/harvester/pipeline/__init__.py", "fedcat/api/cli.py"):
        assert needed in expected  # the walk over the repository finds them
    assert expected - built == set()


def test_every_package_folder_is_listed_in_pyproject() -> None:
    config = setuptools_config()
    found = set()
    for package, folder in config["package-dir"].items():
        base = ROOT / folder
        for module in base.rglob("*.py"):
            # a folder of modules without __init__.py would be a namespace package, never shipped
            assert (module.parent / "__init__.py").is_file(), f"{module.relative_to(ROOT)}: no __init__.py beside it"
        for init in base.rglob("__init__.py"):
            found.add(".".join([package, *init.parent.relative_to(base).parts]))
    listed = config["packages"]
    assert len(listed) == len(set(listed))
    assert set(listed) == found
    assert set(config["package-data"]) <= found


# -- Kubernetes -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    kustomization = load(K8S / "kustomization.yaml")
    out = {}
    for resource in kustomization["resources"]:
        for doc in yaml.safe_load_all((K8S / resource).read_text(encoding="utf-8")):
            out[(doc["kind"], doc["metadata"]["name"])] = doc
    return out


@pytest.fixture(scope="module")
def k8s_config(manifests: dict[tuple[str, str], dict[str, Any]]) -> Config:
    return config_from_dict(yaml.safe_load(manifests[("ConfigMap", "fedcat-config")]["data"]["fedcat.yaml"]))


def pod(manifests: dict[tuple[str, str], dict[str, Any]], name: str) -> dict[str, Any]:
    return manifests[("Deployment", name)]["spec"]["template"]  # type: ignore[no-any-return]


def test_k8s_service_targets_the_api_container_port(manifests: dict[tuple[str, str], dict[str, Any]],
                                                    k8s_config: Config) -> None:
    template = pod(manifests, "fedcat-api")
    (container,) = template["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": k8s_config.api.port}
    service = manifests[("Service", "fedcat-api")]["spec"]
    assert service["selector"] == template["metadata"]["labels"]
    assert {p["targetPort"] for p in service["ports"]} == {ports["http"]}
    probe = container["readinessProbe"]["httpGet"]
    assert probe["path"] == "/readyz"
    assert ports.get(probe["port"], probe["port"]) == k8s_config.api.port
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"  # never the index's state
    assert manifests[("Deployment", "fedcat-api")]["spec"]["replicas"] >= 2


def test_k8s_pods_mount_the_config_secrets_and_data_they_name(
        manifests: dict[tuple[str, str], dict[str, Any]], k8s_config: Config) -> None:
    es = manifests[("Elasticsearch", "fedcat")]
    assert ES_IMAGE.match(es["spec"]["image"]) and es["spec"]["image"].endswith(es["spec"]["version"])
    assert sum(n["count"] for n in es["spec"]["nodeSets"]) == 3
    assert k8s_config.index.url == "https://fedcat-es-http:9200"  # ECK's service for the cluster named fedcat
    assert k8s_config.index.password is None
    for name, command in (("fedcat-api", "serve"), ("fedcat-scheduler", "schedule")):
        spec = pod(manifests, name)["spec"]
        (container,) = spec["containers"]
        assert container["image"] == FEDCAT_IMAGE
        assert container["args"] == [command] and command in subcommands()
        env = {e["name"]: e for e in container["env"]}
        volumes = {v["name"]: v for v in spec["volumes"]}
        by_path = {m["mountPath"]: m for m in container["volumeMounts"]}
        config_mount = by_path[env["FEDCAT_CONFIG"]["value"]]
        assert volumes[config_mount["name"]]["configMap"]["name"] == "fedcat-config"
        assert config_mount["subPath"] == "fedcat.yaml"
        assert env["FEDCAT_ES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "fedcat-es-elastic-user",
                                                                          "key": "elastic"}
        assert k8s_config.index.ca_certs
        ca_mount = by_path[str(Path(k8s_config.index.ca_certs).parent)]
        assert volumes[ca_mount["name"]]["secret"]["secretName"] == "fedcat-es-http-certs-public"
        data = volumes[by_path[k8s_config.data_dir]["name"]]
        claim = data["persistentVolumeClaim"]["claimName"]
        assert ("PersistentVolumeClaim", claim) in manifests
    scheduler = manifests[("Deployment", "fedcat-scheduler")]["spec"]
    assert scheduler["replicas"] == 1 and scheduler["strategy"]["type"] == "Recreate"
    affinity = pod(manifests, "fedcat-api")["spec"]["affinity"]["podAffinity"]
    (term,) = affinity["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["labelSelector"]["matchLabels"] == pod(manifests, "fedcat-scheduler")["metadata"]["labels"]


def test_systemd_units_are_kept() -> None:
    for unit in ("fedcat-api.service", "fedcat-scheduler.service"):
        text = (DEPLOY / "systemd" / unit).read_text()
        assert "Environment=FEDCAT_CONFIG=/etc/fedcat/fedcat.yaml" in text
        command = re.search(r"ExecStart=\S+ (\w+)", text)
        assert command and command.group(1) in subcommands()
