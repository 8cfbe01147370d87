# The sweeper as a container image: its locked dependencies and its own wheel installed into
# one directory, and only that directory copied onto a distroless Python runtime: no shell,
# no pip, no setuptools, no apt in the image that runs. Runs as 65532:65532 (distroless
# "nonroot") with a read-only root filesystem; anything written goes to /tmp (an emptyDir in
# the manifests under cronjob/).
#
# Reproducible: every runtime dependency comes from requirements.lock and the build backend
# (setuptools) from requirements-build.lock, both pinned and hash-checked (regenerate them
# with .ci/lock). Build with the commit and time it is built from:
#   docker build --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg CREATED="$(git log -1 --format=%cI)" -t gatekeeper-sweeper:0.1.0 .
#
# Base images: pin them by digest for a reproducible build, e.g.
#   --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<digest> \
#   --build-arg RUNTIME_IMAGE=gcr.io/distroless/python3-debian12:nonroot@sha256:<digest>
# (`docker buildx imagetools inspect IMAGE` prints the digest). Both must be Debian 12 with
# Python 3.11: the packages are built by one and run by the other's interpreter.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/python3-debian12:nonroot

FROM ${PYTHON_IMAGE} AS builder
# Must equal sweeper.__version__: the build fails below if it does not.
ARG VERSION=0.1.0
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements.lock requirements-build.lock ./
# Hash-checked, and nothing beyond the locks (--no-deps): a dependency missing from a lock
# fails the build instead of being resolved at build time. The build backend goes into a
# venv of its own, which never reaches the runtime image.
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements-build.lock \
    && /opt/build/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock \
        --target /opt/app
COPY pyproject.toml README.md LICENSE ./
COPY sweeper ./sweeper
# The wheel is built with the locked setuptools (no build isolation: nothing is fetched).
# Bytecode is compiled here with hashes that need no mtime check, since nothing can be
# written at run time.
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels . \
    && /opt/build/bin/pip install --no-cache-dir --no-deps /wheels/*.whl --target /opt/app \
    && rm -rf /opt/app/bin \
    && python -m compileall -q -f --invalidation-mode unchecked-hash /opt/app \
    && test "$(PYTHONPATH=/opt/app python -m sweeper version)" = "sweeper ${VERSION}"

FROM ${RUNTIME_IMAGE}
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
ENV PYTHONPATH=/opt/app \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=builder /opt/app /opt/app
WORKDIR /tmp
USER 65532:65532
ENTRYPOINT ["/usr/bin/python3.11", "-m", "sweeper"]
CMD ["sweep"]
