"""deploy/: the compose and Kubernetes files parse and agree with each other and with fedcat.

The fedcat configs shipped in them are loaded by fedcat's own config loader,
so a renamed key or a wrong type fails here, not on an operator's cluster. They keep the records in
PostgreSQL, so no fedcat process shares a volume: the API pods run on any node, spread, under a
disruption budget. Health checks and probes ask for paths the API app serves, and every fedcat command
(services, containers, units, the READMEs' examples) is one fedcat's own parser accepts.
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

from fedcat.api.app import create_app
from fedcat.api.catalog import Catalog
from fedcat.api.cli import build_parser
from fedcat.harvester.config import Backend, Config, config_from_dict
from fedcat.harvester.config_schema import StoreBackend

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose"
K8S = DEPLOY / "k8s"
ES_IMAGE = re.compile(r"^docker\.elastic\.co/elasticsearch/elasticsearch:8\.\d+\.\d+$")
FEDCAT_IMAGE = "fedcat:0.1.0"
POSTGRES_IMAGE = re.compile(r"^postgres:1[56](\.\d+)*(-[\w.]+)?$")  # the official image, PostgreSQL 15 or 16


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def subcommands() -> set[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return set(action.choices)  # type: ignore[arg-type]


def assert_command(args: list[str], where: str) -> None:
    """``args`` (what follows ``fedcat``) is a subcommand with options fedcat's own parser accepts."""
    assert args and args[0] in subcommands(), f"{where}: {args} is no fedcat subcommand"
    try:
        build_parser().parse_args(args)
    except SystemExit as exc:
        raise AssertionError(f"{where}: fedcat does not accept {args}") from exc


@pytest.fixture(scope="module")
def served_paths(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The paths (without parameters) the API app answers GET on, from the app itself."""
    catalog = Catalog.open(config_from_dict({"data_dir": str(tmp_path_factory.mktemp("app"))}))
    try:
        app = create_app(catalog=catalog)
        return {route.path for route in app.routes
                if "GET" in (getattr(route, "methods", None) or ()) and "{" not in route.path}
    finally:
        catalog.close()


def test_the_app_serves_the_probe_paths(served_paths: set[str]) -> None:
    assert {"/livez", "/readyz", "/metrics", "/api/v1/health"} <= served_paths
    assert "/no/such/probe" not in served_paths


def assert_postgres_store(config: Config, host: str) -> None:
    """The shipped config keeps its records in the PostgreSQL at ``host``, without a password in the file."""
    assert config.store.backend is StoreBackend.POSTGRESQL
    assert config.index.backend is Backend.ELASTICSEARCH  # with both, nothing shared is left in data_dir
    url = urlsplit(config.store.url or "")
    assert url.scheme == "postgresql" and url.hostname == host and url.port == 5432
    assert url.username == "fedcat" and url.path == "/fedcat"
    assert url.password is None  # from PGPASSWORD, never in the file
    assert config.store.lease_seconds > 0


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


def fedcat_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items() if svc.get("image") == FEDCAT_IMAGE}


def test_compose_runs_elasticsearch_postgres_api_replicas_two_schedulers_and_a_proxy(
        compose: dict[str, Any]) -> None:
    services = compose["services"]
    nodes = es_nodes(compose)
    assert sorted(nodes) == ["es01", "es02", "es03"]
    assert services["api"]["deploy"]["replicas"] >= 2
    assert services["scheduler"].get("deploy", {}).get("replicas", 1) == 2  # safe: harvest leases
    assert services["proxy"]["image"].startswith("nginx:")
    assert POSTGRES_IMAGE.match(services["postgres"]["image"])
    assert sorted(fedcat_services(compose)) == ["api", "migrate", "scheduler"]
    for name, svc in fedcat_services(compose).items():
        assert_command(svc["command"], f"compose service {name}")
    assert services["api"]["command"] == ["serve"] and services["scheduler"]["command"] == ["schedule"]
    assert services["migrate"]["command"] == ["migrate"]


def test_compose_dependencies_exist_and_wait_for_the_right_state(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, svc in services.items():
        for dependency, how in svc.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on {dependency}, which is no service"
            if how["condition"] == "service_healthy":
                assert services[dependency].get("healthcheck", {}).get("test"), f"{dependency}: no healthcheck"
            if how["condition"] == "service_completed_successfully":  # a one-shot: never restarted
                assert services[dependency].get("restart", "no") == "no", f"{dependency} is no one-shot"
    migrate = services["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"
    for name in ("api", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_postgres_keeps_its_data_in_a_named_volume_and_its_password_in_env(
        compose: dict[str, Any], compose_config: Config) -> None:
    postgres = compose["services"]["postgres"]
    env = env_of(postgres)
    assert env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    url = urlsplit(compose_config.store.url or "")
    assert (env["POSTGRES_USER"], "/" + env["POSTGRES_DB"]) == (url.username, url.path)
    volume = mounts(postgres)["/var/lib/postgresql/data"]
    assert volume in compose["volumes"]  # named: kept across `docker compose down`
    health = postgres["healthcheck"]["test"]
    assert "pg_isready" in " ".join(health)
    assert "POSTGRES_PASSWORD=\n" in (COMPOSE / ".env.example").read_text()


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
    assert data_volumes | {"certs"} <= set(compose["volumes"])
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
    assert_postgres_store(compose_config, "postgres")
    assert compose_config.store.url and "postgres" in compose["services"]
    for name, svc in fedcat_services(compose).items():
        env, vols = env_of(svc), mounts(svc)
        assert vols[env["FEDCAT_CONFIG"]] == "./fedcat.yaml"
        assert env["PGPASSWORD"].startswith("${POSTGRES_PASSWORD:?")
        # data_dir is each container's scratch: no volume (named or from the host) shared there
        assert under(compose_config.data_dir, vols) is None, f"{name} mounts a volume on data_dir"
        assert not any(target.startswith(compose_config.data_dir.rstrip("/") + "/") for target in vols)
    for name in ("api", "scheduler"):
        svc = compose["services"][name]
        env, vols = env_of(svc), mounts(svc)
        assert "FEDCAT_ES_PASSWORD" in env
        assert index.ca_certs and vols[under(index.ca_certs, vols) or ""] == "certs"
        assert svc["depends_on"]["es01"]["condition"] == "service_healthy"
    assert any(s.id and s.schedule for s in compose_config.sources)  # the scheduler has work


def test_compose_healthchecks_ask_for_paths_the_app_serves(compose: dict[str, Any], served_paths: set[str]) -> None:
    asked = {}
    for name in ("api", "proxy"):
        test = " ".join(compose["services"][name]["healthcheck"]["test"])
        (path,) = re.findall(r"http://[^/'\"\s]+(/[^'\"\s?]*)", test)
        asked[name] = path
        assert path in served_paths, f"{name}'s healthcheck asks for {path}, which the app does not serve"
    assert asked["api"] == "/readyz"


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
    assert (COMPOSE / ".env.example").read_text().count("PASSWORD=\n") == 3  # no secret shipped


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


def pods(manifests: dict[tuple[str, str], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The pod template of every Deployment, StatefulSet and Job, by its name."""
    return {name: doc["spec"]["template"] for (kind, name), doc in manifests.items()
            if kind in ("Deployment", "StatefulSet", "Job")}


def fedcat_containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    spec = template["spec"]
    return [c for c in [*spec.get("initContainers", []), *spec["containers"]] if c["image"] == FEDCAT_IMAGE]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "matchExpressions: teach selects() them"
    return bool(selector.get("matchLabels")) and selector["matchLabels"].items() <= labels.items()


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
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"  # never the store's or index's state
    assert manifests[("Deployment", "fedcat-api")]["spec"]["replicas"] >= 3


def test_k8s_http_probes_ask_for_paths_the_app_serves(manifests: dict[tuple[str, str], dict[str, Any]],
                                                      served_paths: set[str]) -> None:
    probed = 0
    for name, template in pods(manifests).items():
        for container in template["spec"]["containers"]:
            for kind in ("readinessProbe", "livenessProbe", "startupProbe"):
                if http := container.get(kind, {}).get("httpGet"):
                    assert http["path"] in served_paths, f"{name} {kind}: the app does not serve {http['path']}"
                    probed += 1
    assert probed >= 2


def test_k8s_every_fedcat_container_runs_a_real_subcommand(manifests: dict[tuple[str, str], dict[str, Any]]) -> None:
    seen = []
    for name, template in pods(manifests).items():
        for container in fedcat_containers(template):
            assert_command(container["args"], f"{name}/{container['name']}")
            seen.append(container["args"][0])
    assert {"serve", "schedule", "migrate"} <= set(seen)


def test_k8s_api_pods_run_on_any_node_and_share_no_volume(manifests: dict[tuple[str, str], dict[str, Any]],
                                                          k8s_config: Config) -> None:
    template = pod(manifests, "fedcat-api")
    spec, labels = template["spec"], template["metadata"]["labels"]
    affinity = spec.get("affinity", {})
    assert "podAffinity" not in affinity, "API pods must not follow another pod (the scheduler) to its node"
    assert "nodeAffinity" not in affinity and "nodeName" not in spec and "nodeSelector" not in spec
    claims = {(kind, name): doc for (kind, name), doc in manifests.items() if kind == "PersistentVolumeClaim"}
    for volume in spec["volumes"]:
        if claim := volume.get("persistentVolumeClaim"):
            pvc = claims.get(("PersistentVolumeClaim", claim["claimName"]))
            assert pvc, f"API volume {volume['name']}: no PersistentVolumeClaim {claim['claimName']}"
            assert "ReadWriteOnce" not in pvc["spec"]["accessModes"], "API pods mount a ReadWriteOnce claim"
            assert "ReadWriteOncePod" not in pvc["spec"]["accessModes"]
    (container,) = spec["containers"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    by_path = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert "emptyDir" in volumes[by_path[k8s_config.data_dir]["name"]]  # scratch, one per pod
    spread = [c for c in spec.get("topologySpreadConstraints", []) if selects(c["labelSelector"], labels)]
    anti = [t.get("podAffinityTerm", t) for way in affinity.get("podAntiAffinity", {}).values() for t in way]
    assert spread or any(selects(t["labelSelector"], labels) for t in anti), "API replicas are not spread"
    assert any(c["topologyKey"] == "kubernetes.io/hostname" for c in spread) or anti


def test_k8s_a_disruption_budget_keeps_api_pods_up(manifests: dict[tuple[str, str], dict[str, Any]]) -> None:
    labels = pod(manifests, "fedcat-api")["metadata"]["labels"]
    replicas = manifests[("Deployment", "fedcat-api")]["spec"]["replicas"]
    budgets = [doc["spec"] for (kind, _), doc in manifests.items()
               if kind == "PodDisruptionBudget" and selects(doc["spec"]["selector"], labels)]
    assert budgets, "no PodDisruptionBudget selects the API pods"
    for budget in budgets:
        assert ("minAvailable" in budget) != ("maxUnavailable" in budget)
        if "minAvailable" in budget:  # a drain must still be able to move one pod
            assert isinstance(budget["minAvailable"], int) and 1 <= budget["minAvailable"] < replicas
        else:
            assert isinstance(budget["maxUnavailable"], int) and 1 <= budget["maxUnavailable"] < replicas


def test_k8s_postgres_is_a_statefulset_behind_a_headless_service_with_its_own_volume(
        manifests: dict[tuple[str, str], dict[str, Any]], k8s_config: Config) -> None:
    url = urlsplit(k8s_config.store.url or "")
    assert_postgres_store(k8s_config, url.hostname or "")
    statefulset = manifests[("StatefulSet", url.hostname or "")]["spec"]
    service = manifests[("Service", statefulset["serviceName"])]["spec"]
    assert service["clusterIP"] == "None"  # headless
    template = statefulset["template"]
    assert service["selector"] == template["metadata"]["labels"] == statefulset["selector"]["matchLabels"]
    (container,) = template["spec"]["containers"]
    assert POSTGRES_IMAGE.match(container["image"])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    (port,) = service["ports"]
    assert port["port"] == url.port and ports.get(port["targetPort"], port["targetPort"]) == url.port
    env = {e["name"]: e for e in container["env"]}
    assert (env["POSTGRES_USER"]["value"], "/" + env["POSTGRES_DB"]["value"]) == (url.username, url.path)
    password = env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]
    (claim,) = statefulset["volumeClaimTemplates"]
    data = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}[claim["metadata"]["name"]]
    assert env["PGDATA"]["value"].startswith(data + "/")
    for kind in ("readinessProbe", "livenessProbe"):
        assert container[kind]["exec"]["command"][0] == "pg_isready"
    for name, template in pods(manifests).items():  # every fedcat process reaches it with the same secret
        for c in fedcat_containers(template):
            fedcat_env = {e["name"]: e for e in c["env"]}
            assert fedcat_env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == password, f"{name}/{c['name']}"


def test_k8s_the_store_is_migrated_before_fedcat_starts(manifests: dict[tuple[str, str], dict[str, Any]]) -> None:
    for name in ("fedcat-api", "fedcat-scheduler"):
        (init,) = pod(manifests, name)["spec"]["initContainers"]
        assert init["args"] == ["migrate"] and init["image"] == FEDCAT_IMAGE


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
        assert container["args"] == [command]
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in fedcat_containers(pod(manifests, name)):
            env = {e["name"]: e for e in c["env"]}
            by_path = {m["mountPath"]: m for m in c["volumeMounts"]}
            config_mount = by_path[env["FEDCAT_CONFIG"]["value"]]
            assert volumes[config_mount["name"]]["configMap"]["name"] == "fedcat-config"
            assert config_mount["subPath"] == "fedcat.yaml"
            assert "emptyDir" in volumes[by_path[k8s_config.data_dir]["name"]]
        env = {e["name"]: e for e in container["env"]}
        by_path = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert env["FEDCAT_ES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "fedcat-es-elastic-user",
                                                                          "key": "elastic"}
        assert k8s_config.index.ca_certs
        ca_mount = by_path[str(Path(k8s_config.index.ca_certs).parent)]
        assert volumes[ca_mount["name"]]["secret"]["secretName"] == "fedcat-es-http-certs-public"
    scheduler = manifests[("Deployment", "fedcat-scheduler")]["spec"]
    assert scheduler["replicas"] == 2  # safe: each harvest holds its source's lease in the store
    assert not any(kind == "PersistentVolumeClaim" for kind, _ in manifests)  # the only volume is PostgreSQL's


def test_k8s_kustomization_lists_every_manifest() -> None:
    listed = set(load(K8S / "kustomization.yaml")["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_systemd_units_are_kept() -> None:
    for unit in ("fedcat-api.service", "fedcat-scheduler.service"):
        text = (DEPLOY / "systemd" / unit).read_text()
        assert "Environment=FEDCAT_CONFIG=/etc/fedcat/fedcat.yaml" in text
        command = re.search(r"^ExecStart=\S+ (.+)$", text, re.M)
        assert command
        assert_command(shlex.split(command.group(1)), unit)


def readme_commands(compose: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The fedcat commands the deploy READMEs tell an operator to run: ``fedcat ARGS`` at the start of a line,
    after ``--`` or a ``bin/``, and ``docker compose run|exec SERVICE ARGS`` for the fedcat services (whose
    entrypoint is fedcat); each with its file."""
    services = "|".join(fedcat_services(compose))
    pattern = re.compile(rf"(?:(?:^|-- |bin/)fedcat|docker compose (?:run --rm|exec) (?:{services})(?: fedcat)?)"
                         r"((?:[ \t]+(?![|&;<>#`])\S+)*)", re.M)
    out = []
    for readme in sorted(DEPLOY.rglob("README.md")):
        blocks = re.findall(r"^```[^\n]*\n(.*?)^```", readme.read_text(encoding="utf-8"), re.M | re.S)
        for block in blocks:
            for match in pattern.finditer(re.sub(r"\\\n", " ", block)):
                words = shlex.split(match.group(1).split(" #")[0])
                out.append((readme.relative_to(DEPLOY).as_posix(), words))
    return out


def test_the_readmes_run_real_subcommands(compose: dict[str, Any]) -> None:
    found = readme_commands(compose)
    assert {"migrate", "harvest", "reindex", "keys"} <= {words[0] for _, words in found if words}
    for readme, words in found:
        if words[:1] == ["--config"]:  # fedcat --config FILE COMMAND ...
            words = words[2:]
        assert_command(words, readme)
