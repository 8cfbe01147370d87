# The sweeper as a container image: its locked dependencies and its own wheel installed into
# a venv, and only that venv copied onto a clean base. Runs as 65532:65532 with a read-only
# root filesystem; anything written goes to /tmp (an emptyDir in the manifests under cronjob/).
#
# Reproducible: every dependency comes from requirements.lock, pinned and hash-checked
# (regenerate it with .ci/lock). Build with the commit and time it is built from:
#   docker build --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(git log -1 --format=%cI)" -t gatekeeper-sweeper:0.1.0 .
#
# Both stages use the same base so the venv's interpreter symlink and compiled extensions
# match: a venv built on another minor Python version does not run.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
# Must equal sweeper.__version__: the build fails below if it does not.
ARG VERSION=0.1.0
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements.lock ./
# Hash-checked, and nothing beyond the lock (--no-deps): a dependency missing from the lock
# fails the build instead of being resolved at build time.
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY sweeper ./sweeper
# The runtime needs neither pip nor setuptools. Bytecode is compiled here with hashes
# that need no mtime check, since nothing can be written at run time.
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install --no-cache-dir --no-deps /wheels/*.whl \
    && /opt/venv/bin/pip check \
    && /opt/venv/bin/pip uninstall --yes pip setuptools \
    && /opt/venv/bin/python -m compileall -q -f --invalidation-mode unchecked-hash /opt/venv/lib \
    && test "$(/opt/venv/bin/sweeper version)" = "sweeper ${VERSION}"

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
# The commit and the time of the build (RFC 3339); set them with --build-arg.
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="gatekeeper-sweeper" \
      org.opencontainers.image.description="Deletes the ValidatingAdmissionPolicies and bindings that OPA Gatekeeper generated and left behind." \
      org.opencontainers.image.source="https://github.com/example/gatekeeper-sweeper" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=builder /opt/venv /opt/venv
WORKDIR /tmp
USER 65532:65532
ENTRYPOINT ["sweeper"]
CMD ["sweep"]
