"""Deploy templates shipped inside the package.

Five commented YAML files that run raymlx on more than one machine. Each opens with a
comment block saying how to use it and what to edit (marked ``# EDIT:``):

- ``ray-up-local``: Ray's cluster launcher (``ray up``) on machines you can SSH into;
- ``ray-up-aws``: the same launcher on AWS EC2, with CPU and GPU worker types;
- ``kuberay-raycluster``: a long-running RayCluster for the KubeRay operator;
- ``kuberay-rayjob``: one ``raymlx fit`` as a KubeRay RayJob that cleans up after itself;
- ``kuberay-rayservice``: a saved predictor served over HTTP by Ray Serve, as a KubeRay
  RayService.

All five turn on Ray's token authentication without writing a token into the file, keep
the dashboard off the public network, and put trial checkpoints (or, for the RayService,
the predictor it serves) on storage that every node shares. Instance types and image tags
in them are examples.
"""

from __future__ import annotations

from importlib.resources import files

from raymlx.errors import InputError

TEMPLATES: dict[str, str] = {
    "ray-up-local": "ray up on your own machines (local provider), token auth, shared /shared",
    "ray-up-aws": "ray up on AWS EC2: CPU head, CPU and GPU workers in Docker, token auth",
    "kuberay-raycluster": "KubeRay RayCluster with CPU and GPU groups and a shared volume",
    "kuberay-rayjob": "KubeRay RayJob running one `raymlx fit` on its own Ray cluster",
    "kuberay-rayservice": (
        "KubeRay RayService serving a saved predictor with Ray Serve (raymlx serve)"
    ),
}


def template_names() -> list[str]:
    """The names :func:`template_text` accepts, in a fixed order."""
    return list(TEMPLATES)


def template_text(name: str) -> str:
    """The YAML text of the template called ``name`` (see :data:`TEMPLATES`)."""
    if name not in TEMPLATES:
        raise InputError(
            f"unknown template {name!r}; choose one of: {', '.join(template_names())}"
        )
    return (files("raymlx.cluster") / "templates" / f"{name}.yaml").read_text(encoding="utf-8")
