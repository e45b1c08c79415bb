# Container image with Ray and raymlx, for KubeRay pods (see
# raymlx/cluster/templates/kuberay-*.yaml) or the `docker:` section of a `ray up` config.
#
# Build and push, from the repository root:
#   docker build -t <your-registry>/raymlx:0.1.0 .
#   docker push <your-registry>/raymlx:0.1.0
# A smaller image without CUDA (CPU-only nodes):
#   docker build -t <your-registry>/raymlx:0.1.0-cpu \
#     --build-arg BASE_IMAGE=rayproject/ray:2.60.0-py311 \
#     --build-arg TORCH_REQUIREMENT="torch==2.13.0+cpu" \
#     --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu .
#
# The base image tags follow Ray's naming scheme (<ray version>-py<python>[-gpu]) but were
# not pulled when this file was written (that machine had no registry access); check that
# they exist. The Ray version in the image must equal the Ray version of every client that
# submits to the cluster (2.60.0 here, the version pinned in constraints.txt).

ARG BASE_IMAGE=rayproject/ray:2.60.0-py311-gpu
FROM ${BASE_IMAGE}

# constraints.txt pins torch==2.13.0+cpu, a CPU-only wheel. For the GPU image, torch comes
# from PyPI instead, whose Linux wheels are CUDA builds; the CPU build args above select
# PyTorch's CPU index.
ARG TORCH_REQUIREMENT="torch==2.13.0"
ARG TORCH_INDEX_URL=https://pypi.org/simple

# The Ray images run as `ray` (uid 1000, group `users`, gid 100), whose home holds a Python
# it can write to: install as that user, never as root. Numeric ids let Kubernetes check
# `runAsNonRoot` against the image.
USER 1000:100
WORKDIR /home/ray

COPY --chown=1000:100 pyproject.toml constraints.txt README.md /tmp/raymlx-src/
COPY --chown=1000:100 raymlx /tmp/raymlx-src/raymlx

# torch first, then raymlx with every other pin from constraints.txt (the torch line is
# dropped so that pip keeps the torch build installed above).
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" "${TORCH_REQUIREMENT}" \
    && grep -v '^torch==' /tmp/raymlx-src/constraints.txt > /tmp/constraints-no-torch.txt \
    && pip install --no-cache-dir -c /tmp/constraints-no-torch.txt /tmp/raymlx-src \
    && rm -rf /tmp/raymlx-src /tmp/constraints-no-torch.txt \
    && raymlx --help > /dev/null

# The image's final user: `ray`, not root.
USER 1000:100
