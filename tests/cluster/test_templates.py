"""The deploy templates shipped in raymlx/cluster/templates and the repository's Dockerfile.

Offline checks only: the ``ray up`` configs go through Ray's own config preparation and
schema; the KubeRay manifests are validated against the vendored v1 CRD schemas (plain, and
a strict copy that also rejects unknown field names), and the security-relevant settings
are asserted one by one. The RayService's ``serveConfigV2`` (a plain string to the CRD) is
parsed and checked against Ray Serve's own config schema, as data: nothing imports the
serving app.
"""

from __future__ import annotations

import copy
import re
from importlib.resources import files
from pathlib import Path

import pytest
import ray
import yaml

from raymlx.cluster.templates import TEMPLATES, template_names, template_text
from raymlx.errors import InputError

jsonschema = pytest.importorskip("jsonschema")

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = ["ray-up-local", "ray-up-aws"]
KUBERAY_TEMPLATES = ["kuberay-raycluster", "kuberay-rayjob", "kuberay-rayservice"]
KUBERAY_GPU = ["kuberay-raycluster", "kuberay-rayjob"]  # the fit templates have a GPU group
CRD_FILES = {"RayCluster": "ray.io_rayclusters.yaml", "RayJob": "ray.io_rayjobs.yaml",
             "RayService": "ray.io_rayservices.yaml"}
TOKEN_FILE = "~/.raymlx/ray_token"
# The C loader parses the ~1 MB CRD files several times faster than the pure-Python one.
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _docs(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(template_text(name)) if d is not None]


def _only(docs: list[dict], kind: str) -> dict:
    found = [d for d in docs if d.get("kind") == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


KUBERAY = REPO / "tests" / "data" / "kuberay"  # the CRDs, shipped with their licence
CRD_SHA256 = {
    "ray.io_rayclusters.yaml": "c44704442eef0c6721ad40c1d66782c8bd3fdab9d3344306a5820910a679baa1",
    "ray.io_rayjobs.yaml": "01a5cf3b17c1769fda44af7e82debcd98722f0c27b9ab84d084681c6649121f5",
    "ray.io_rayservices.yaml":
        "0a8fc325e6e22b9231c1f282b309555e2ecf94227ca20a03df3d1d9a403907ab",
}


def test_the_crd_schemas_ship_unmodified_with_their_licence():
    import hashlib

    assert set(CRD_SHA256) == set(CRD_FILES.values())
    readme = (KUBERAY / "README.md").read_text()
    for name, digest in CRD_SHA256.items():
        assert hashlib.sha256((KUBERAY / name).read_bytes()).hexdigest() == digest
        assert f"`{name}` {digest}" in readme, f"README.md lacks the sha256 of {name}"
    assert "Apache License" in (KUBERAY / "LICENSE").read_text()
    assert "feeaf72facab4881ba2b179248bb67315634e229" in readme


def _strict(schema):
    """A copy of ``schema`` in which every object with ``properties`` rejects unknown keys.

    Objects that keep unknown fields on purpose (``x-kubernetes-preserve-unknown-fields``)
    or already say something about extra keys (``additionalProperties``) are left alone.
    """
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _strict(value) for key, value in schema.items()}
    if (
        "properties" in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
        and "additionalProperties" not in out
    ):
        out["additionalProperties"] = False
    return out


@pytest.fixture(scope="module")
def validators() -> dict[str, tuple]:
    """kind -> (plain, strict) Draft 7 validators for the KubeRay v1 schema, built once."""
    folder = KUBERAY
    out = {}
    for kind, filename in CRD_FILES.items():
        with open(folder / filename, encoding="utf-8") as fh:
            crd = yaml.load(fh, Loader=FAST_LOADER)
        schema = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"][
            "openAPIV3Schema"
        ]
        out[kind] = (jsonschema.Draft7Validator(schema),
                     jsonschema.Draft7Validator(_strict(schema)))
    return out


def _errors(validator, doc) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(doc)]


def _cluster_spec(doc: dict) -> dict:
    key = {"RayJob": "rayClusterSpec", "RayService": "rayClusterConfig"}.get(doc["kind"])
    return doc["spec"][key] if key else doc["spec"]


def _pod_specs(doc: dict) -> dict[str, dict]:
    """Group name ('head', worker group names, 'submitter') -> pod spec."""
    spec = _cluster_spec(doc)
    pods = {"head": spec["headGroupSpec"]["template"]["spec"]}
    for group in spec.get("workerGroupSpecs", []):
        pods[group["groupName"]] = group["template"]["spec"]
    if doc["kind"] == "RayJob" and "submitterPodTemplate" in doc["spec"]:
        pods["submitter"] = doc["spec"]["submitterPodTemplate"]["spec"]
    return pods


def _walk(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


# ---------------------------------------------------------------------------------------
# Loading


@pytest.mark.parametrize("name", template_names())
def test_template_loads_and_explains_itself(name):
    text = template_text(name)
    assert text.startswith("#"), "a template opens with its comment block"
    head = text.split("\n---", 1)[0]  # the comment block, before any YAML document
    for words in ("How to use it", "# EDIT:", "EDIT before use"):
        assert words in text, f"{name} lacks {words!r}"
    assert re.search(r"not (pulled|launched|applied|run against)", head), \
        f"{name} does not say its examples are unverified"
    docs = _docs(name)
    assert docs and all(isinstance(d, dict) and d for d in docs)


def test_names_match_shipped_files():
    folder = files("raymlx.cluster") / "templates"
    shipped = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))
    assert shipped == sorted(template_names()) == sorted(TEMPLATES)
    assert all(TEMPLATES[n] and "\n" not in TEMPLATES[n] for n in TEMPLATES)


def test_package_data_ships_the_yaml():
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"cluster/templates/*.yaml"' in text


@pytest.mark.parametrize("bad", ["x", "ray-up", "kuberay-rayjob.yaml", "a\nb"])
def test_unknown_template_is_one_line_listing_names(bad):
    with pytest.raises(InputError) as info:
        template_text(bad)
    message = str(info.value)
    assert "\n" not in message
    assert "unknown template" in message
    assert message.endswith("choose one of: " + ", ".join(template_names()))


# ---------------------------------------------------------------------------------------
# KubeRay manifests


@pytest.mark.parametrize("name", KUBERAY_TEMPLATES)
def test_kuberay_manifest_matches_v1_schema(name, validators):
    checked = 0
    for doc in _docs(name):
        if doc.get("kind") not in CRD_FILES:
            continue  # the PersistentVolumeClaim is a core object, not a KubeRay one
        assert doc["apiVersion"] == "ray.io/v1"
        plain, strict = validators[doc["kind"]]
        assert _errors(plain, doc) == []
        assert _errors(strict, doc) == []
        checked += 1
    assert checked == 1


def test_strict_schema_catches_misspelt_field(validators):
    job = copy.deepcopy(_only(_docs("kuberay-rayjob"), "RayJob"))
    job["spec"]["shutdownAfterJobFinish"] = job["spec"].pop("shutdownAfterJobFinishes")
    errors = _errors(validators["RayJob"][1], job)
    assert any("shutdownAfterJobFinish" in e for e in errors), errors


def test_strict_schema_catches_misspelt_rayservice_field(validators):
    service = copy.deepcopy(_only(_docs("kuberay-rayservice"), "RayService"))
    service["spec"]["serveConfig"] = service["spec"].pop("serveConfigV2")
    errors = _errors(validators["RayService"][1], service)
    assert any("serveConfig" in e for e in errors), errors
    assert _errors(validators["RayService"][0], service) == []  # the plain schema misses it


def test_plain_schema_catches_wrong_type(validators):
    for name, kind in (("kuberay-rayjob", "RayJob"), ("kuberay-raycluster", "RayCluster"),
                       ("kuberay-rayservice", "RayService")):
        doc = copy.deepcopy(_only(_docs(name), kind))
        _cluster_spec(doc)["workerGroupSpecs"][0]["replicas"] = "two"
        errors = _errors(validators[kind][0], doc)
        assert any("replicas" in e and "'two'" in e for e in errors), errors


@pytest.mark.parametrize("name", KUBERAY_TEMPLATES)
def test_kuberay_token_auth_without_literal_token(name):
    docs = _docs(name)
    doc = next(d for d in docs if d.get("kind") in CRD_FILES)
    spec = _cluster_spec(doc)
    assert spec["authOptions"]["mode"] == "token"
    assert spec["rayVersion"] == ray.__version__
    for node in _walk(docs):
        if isinstance(node, dict):
            assert "auth_token" not in node, "a token value written into the manifest"
            if node.get("name") == "RAY_AUTH_TOKEN":
                assert "value" not in node, "RAY_AUTH_TOKEN with a literal value"
        if isinstance(node, str):
            assert "RAY_AUTH_TOKEN=" not in node
    assert not any(d.get("kind") == "Secret" for d in docs)


@pytest.mark.parametrize("name", KUBERAY_TEMPLATES)
def test_kuberay_nothing_exposed_nothing_privileged(name):
    doc = next(d for d in _docs(name) if d.get("kind") in CRD_FILES)
    head = _cluster_spec(doc)["headGroupSpec"]
    assert head["serviceType"] == "ClusterIP"
    assert head["enableIngress"] is False
    ports = {p["name"]: p["containerPort"] for p in head["template"]["spec"]["containers"][0]
             ["ports"]}
    want = {"gcs-server": 6379, "dashboard": 8265, "client": 10001}
    if doc["kind"] == "RayService":
        want["serve"] = 8000  # the operator builds the serve Service from this port's name
        assert "serveService" not in doc["spec"]  # so that Service is a ClusterIP too
    assert ports == want
    pods = _pod_specs(doc)
    if doc["kind"] == "RayJob":
        assert "submitter" in pods, "the submitter pod would run with default privileges"
    for group, pod in pods.items():
        assert pod["containers"], group
        for container in pod["containers"]:
            where = f"{group}/{container['name']}"
            ctx = container.get("securityContext", {})
            assert ctx.get("privileged") is False, where
            assert ctx.get("allowPrivilegeEscalation") is False, where
            assert ctx.get("runAsNonRoot") is True, where
            assert "ALL" in ctx.get("capabilities", {}).get("drop", []), where
            assert container["image"] == "raymlx:0.1.0", where
            assert container["imagePullPolicy"] == "IfNotPresent", where
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where
        assert pod["securityContext"]["runAsUser"] != 0, group


@pytest.mark.parametrize("name", KUBERAY_GPU)
def test_kuberay_gpu_group(name):
    doc = next(d for d in _docs(name) if d.get("kind") in CRD_FILES)
    groups = {g["groupName"]: g for g in _cluster_spec(doc)["workerGroupSpecs"]}
    gpu = groups["gpu"]
    assert gpu["minReplicas"] <= gpu["replicas"] <= gpu["maxReplicas"]
    resources = gpu["template"]["spec"]["containers"][0]["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == "1"
    assert resources["requests"]["nvidia.com/gpu"] == "1"
    tolerations = gpu["template"]["spec"]["tolerations"]
    assert any(t["key"] == "nvidia.com/gpu" and t["effect"] == "NoSchedule"
               for t in tolerations)
    for other in set(groups) - {"gpu"}:
        limits = groups[other]["template"]["spec"]["containers"][0]["resources"]["limits"]
        assert "nvidia.com/gpu" not in limits


@pytest.mark.parametrize("name", KUBERAY_TEMPLATES)
def test_kuberay_shared_volume_mounted_everywhere(name):
    docs = _docs(name)
    pvc = _only(docs, "PersistentVolumeClaim")
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    claim = pvc["metadata"]["name"]
    doc = next(d for d in docs if d.get("kind") in CRD_FILES)
    ray_pods = {g: p for g, p in _pod_specs(doc).items() if g != "submitter"}
    assert "head" in ray_pods and len(ray_pods) >= 2
    if name in KUBERAY_GPU:
        assert "gpu" in ray_pods
    for group, pod in ray_pods.items():
        volumes = {v["name"]: v for v in pod["volumes"]}
        shared = [n for n, v in volumes.items()
                  if v.get("persistentVolumeClaim", {}).get("claimName") == claim]
        assert len(shared) == 1, group
        mounts = {m["mountPath"]: m["name"] for m in pod["containers"][0]["volumeMounts"]}
        assert mounts.get("/shared") == shared[0], group
        assert volumes[mounts["/dev/shm"]]["emptyDir"]["medium"] == "Memory", group


def test_rayjob_runs_raymlx_fit_and_cleans_up():
    job = _only(_docs("kuberay-rayjob"), "RayJob")
    spec = job["spec"]
    assert job["metadata"]["name"] == "raymlx-fit"
    assert spec["entrypoint"].startswith("raymlx fit ")
    assert "--path /shared/" in spec["entrypoint"]
    assert "--output /shared/" in spec["entrypoint"]
    assert spec["submissionMode"] == "K8sJobMode"
    assert spec["shutdownAfterJobFinishes"] is True
    assert spec["ttlSecondsAfterFinished"] > 0
    assert spec["backoffLimit"] == 0
    limit = float(re.search(r"--time-limit (\d+)", spec["entrypoint"]).group(1))
    assert spec["activeDeadlineSeconds"] > limit


@pytest.mark.parametrize("name", KUBERAY_TEMPLATES)
def test_kuberay_comment_has_the_commands(name):
    text = template_text(name)
    for words in ("kubectl apply -f", "kubectl port-forward svc/", "kubectl cp",
                  "{.data.auth_token}' | base64 -d", "raymlx leaderboard"):
        assert words in text, f"{name} lacks {words!r}"


# ---------------------------------------------------------------------------------------
# The RayService


def _serve_config() -> dict:
    service = _only(_docs("kuberay-rayservice"), "RayService")
    text = service["spec"]["serveConfigV2"]
    assert isinstance(text, str)  # a YAML string, as the CRD requires
    return yaml.safe_load(text)


def _serve_schema():
    """``ray.serve.schema``, imported without the pydantic deprecation warnings it raises."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ray.serve import schema
    return schema


def _unknown_keys(model, data: dict, where: str = "") -> list[str]:
    """Keys of ``data`` that the pydantic ``model`` (or a nested one) does not declare.

    Ray Serve's config models ignore unknown keys, so a misspelt ``num_replica`` would be
    dropped without a word; this walks the nested models a serve config can use. ``args``
    is the application's own and is left alone.
    """
    schema = _serve_schema()
    children = {"applications": schema.ServeApplicationSchema,
                "deployments": schema.DeploymentSchema,
                "ray_actor_options": schema.RayActorOptionsSchema,
                "http_options": schema.HTTPOptionsSchema}
    out = [f"{where}{key}" for key in data if key not in model.model_fields]
    for key, value in data.items():
        child = children.get(key)
        if child is None:
            continue
        if isinstance(value, list):
            for i, item in enumerate(value):
                out += _unknown_keys(child, item, f"{where}{key}/{i}/")
        else:
            out += _unknown_keys(child, value, f"{where}{key}/")
    return out


def test_rayservice_serve_config_matches_ray_serve_schema():
    deploy_schema = _serve_schema().ServeDeploySchema
    config = _serve_config()
    parsed = deploy_schema.model_validate(config)
    assert _unknown_keys(deploy_schema, config) == []
    (app,) = parsed.applications
    assert app.name == "raymlx"
    assert app.route_prefix == "/"
    assert app.import_path == "raymlx.tabular.serving:build_app"
    assert set(app.args) <= {"predictor", "max_batch_size", "batch_wait_timeout_s"}
    assert app.args["predictor"].startswith("/shared/predictors/")
    assert isinstance(app.args["max_batch_size"], int) and app.args["max_batch_size"] > 0
    assert 0 < app.args["batch_wait_timeout_s"] < 1
    (deployment,) = app.deployments
    assert deployment.name == "raymlx_predictor"
    assert deployment.num_replicas >= 1
    assert deployment.ray_actor_options.num_cpus == 1
    assert parsed.http_options.port == 8000


def test_unknown_serve_config_key_is_caught():
    config = _serve_config()
    deployment = config["applications"][0]["deployments"][0]
    deployment["num_replica"] = deployment.pop("num_replicas")
    assert _unknown_keys(_serve_schema().ServeDeploySchema, config) == [
        "applications/0/deployments/0/num_replica"]


def test_rayservice_serves_from_the_shared_volume_on_cpu_workers():
    service = _only(_docs("kuberay-rayservice"), "RayService")
    assert service["metadata"]["name"] == "raymlx-predictor"
    assert len(service["metadata"]["name"]) <= 53  # the operator's limit for a RayService
    spec = _cluster_spec(service)
    groups = {g["groupName"]: g for g in spec["workerGroupSpecs"]}
    assert set(groups) == {"cpu"}
    worker = groups["cpu"]["template"]["spec"]["containers"][0]
    assert "nvidia.com/gpu" not in worker["resources"]["limits"]
    (app,) = _serve_config()["applications"]
    (deployment,) = app["deployments"]
    cpus = float(worker["resources"]["limits"]["cpu"])
    total = groups["cpu"]["replicas"] * cpus
    assert deployment["num_replicas"] * deployment["ray_actor_options"]["num_cpus"] <= total
    assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"


def test_rayservice_comment_says_how_to_call_it():
    text = template_text("kuberay-rayservice")
    head = text.split("\n---", 1)[0]
    for words in ("kubectl apply -f kuberay-rayservice.yaml",
                  "kubectl port-forward svc/raymlx-predictor-serve-svc 8000",
                  "curl -s -X POST http://127.0.0.1:8000/predict",
                  "Content-Type: text/csv", "/healthz", "/schema",
                  "predictor folder must be on the shared volume"):
        assert words in head, f"the comment block lacks {words!r}"
    assert "predictor: /shared/predictors/EDIT-ME" in text


def test_cli_prints_the_rayservice_template(capsys):
    from raymlx.cli import main

    assert main(["cluster", "template", "kuberay-rayservice"]) == 0
    assert capsys.readouterr().out == template_text("kuberay-rayservice")


# ---------------------------------------------------------------------------------------
# `ray up` configs


def _prepared(cfg: dict) -> dict:
    # Ray's own path for `ray up`: merge the provider's defaults, then check the result
    # against ray/autoscaler/ray-schema.json. Neither step needs boto3 or the network for
    # the aws provider: prepare_config only reads ray/autoscaler/aws/defaults.yaml (boto3
    # is used later, by the bootstrap step that talks to EC2).
    from ray.autoscaler._private.commands import prepare_config
    from ray.autoscaler._private.util import validate_config

    full = prepare_config(copy.deepcopy(cfg))
    validate_config(full)
    return full


@pytest.mark.parametrize("name", LAUNCHER)
def test_launcher_config_passes_ray_validation(name):
    (cfg,) = _docs(name)
    full = _prepared(cfg)
    assert full["cluster_name"] == cfg["cluster_name"]
    assert full["head_node_type"] in full["available_node_types"]


@pytest.mark.parametrize("name", LAUNCHER)
def test_launcher_validation_rejects_misspelt_key(name):
    (cfg,) = _docs(name)
    cfg["max_worker"] = 2
    with pytest.raises(jsonschema.ValidationError, match="max_worker"):
        _prepared(cfg)


@pytest.mark.parametrize("name", LAUNCHER)
def test_launcher_token_auth_and_local_dashboard(name):
    (cfg,) = _docs(name)
    assert cfg["file_mounts"][TOKEN_FILE] == TOKEN_FILE
    starts = 0
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        commands = cfg[key]
        assert f"chmod 600 {TOKEN_FILE}" in commands, key
        for command in commands:
            if "ray start" not in command:
                continue
            starts += 1
            before = command[: command.index("ray start")]
            assert "RAY_AUTH_MODE=token" in before, command
            assert f"RAY_AUTH_TOKEN_PATH={TOKEN_FILE}" in before, command
    assert starts == 2
    (head_start,) = [c for c in cfg["head_start_ray_commands"] if "ray start --head" in c]
    assert "--dashboard-host=127.0.0.1" in head_start
    for node in _walk(cfg):
        if isinstance(node, str):
            assert "0.0.0.0" not in node
            assert "RAY_AUTH_TOKEN=" not in node


@pytest.mark.parametrize("name", LAUNCHER)
def test_launcher_installs_ray_and_raymlx_everywhere(name):
    (cfg,) = _docs(name)
    setup = " ; ".join(cfg["setup_commands"])  # setup_commands run on every node
    assert f'"ray[default,tune,train]=={ray.__version__}"' in setup
    assert re.search(r"pip install[^;]* raymlx\b", setup)


@pytest.mark.parametrize("name", LAUNCHER)
def test_launcher_comment_has_the_commands(name):
    text = template_text(name)
    submit = ("RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=~/.raymlx/ray_token ray job submit "
              "--address http://127.0.0.1:8265 --working-dir . -- raymlx fit train.csv "
              "--label target --output /shared/predictors/run1 --path /shared/runs "
              "--time-limit 600")
    # The command is wrapped over comment lines with `\`; compare it as one line.
    flat = re.sub(r"\s*\\\n#\s*", " ", text)
    for words in (f"raymlx cluster token --file {TOKEN_FILE}", f"ray up {name}.yaml",
                  f"ray dashboard {name}.yaml", submit, f"ray submit {name}.yaml script.py",
                  "/shared"):
        assert words in flat, f"{name} lacks {words!r}"


def test_local_launcher_uses_placeholder_machines():
    (cfg,) = _docs("ray-up-local")
    provider = cfg["provider"]
    assert provider["type"] == "local"
    assert provider["head_ip"].startswith("10.")
    assert provider["worker_ips"] and all(ip.startswith("10.") for ip in provider["worker_ips"])


def test_aws_launcher_head_keeps_cpus_and_has_gpu_workers():
    (cfg,) = _docs("ray-up-aws")
    assert cfg["provider"]["type"] == "aws"
    types = cfg["available_node_types"]
    head = types[cfg["head_node_type"]]
    assert head["resources"].get("CPU", None) != 0
    workers = [t["node_config"]["InstanceType"] for n, t in types.items()
               if n != cfg["head_node_type"]]
    assert any(i.startswith(("g", "p")) for i in workers), "no GPU worker type"
    assert any(i.startswith(("m", "c", "r")) for i in workers), "no CPU worker type"
    image = cfg["docker"]["image"]
    assert image.startswith(f"rayproject/ray:{ray.__version__}-")
    assert "fs-XXXXXXXX" in template_text("ray-up-aws")
    assert not re.search(r"fs-[0-9a-f]{8}", template_text("ray-up-aws"))


# ---------------------------------------------------------------------------------------
# Dockerfile


def test_dockerfile():
    path = REPO / "Dockerfile"
    assert path.is_file()
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    instructions = [ln for ln in lines if ln and not ln.startswith("#")]
    base = next(ln for ln in instructions if ln.startswith("ARG BASE_IMAGE="))
    tag = base.split("=", 1)[1].split(":", 1)[1]
    assert tag.split("-")[0] == ray.__version__
    assert any(ln == "FROM ${BASE_IMAGE}" for ln in instructions)
    users = [ln.split()[1] for ln in instructions if ln.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert instructions[-1].startswith("USER ")
    text = path.read_text(encoding="utf-8")
    assert "grep -v '^torch==' " in text
    constraints = re.search(r"grep -v '\^torch==' \S*constraints\.txt > (\S+)", text).group(1)
    assert re.search(rf"pip install --no-cache-dir -c {re.escape(constraints)} ", text)
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "raymlx_runs", "benchmarks/results"} <= set(ignored)
