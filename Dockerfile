# sidekick as a container. The build stage installs the dependencies and
# bundles sidekick into one folder of JavaScript files (scripts/bundle.mjs:
# an entry, and what only some runs load); the final stage holds the Node
# runtime and that folder, nothing else: no npm, no shell, no sources, no
# tests, no node_modules.
#
# The base images are build arguments, so they can be pinned by digest
# (node:22-bookworm-slim@sha256:...) or replaced by local ones (the image test
# builds with bases imported from this machine's Node). The runtime base must
# have `node` in /nodejs/bin, /usr/local/bin or /usr/bin.
ARG BUILD_IMAGE=node:22-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs22-debian12:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY scripts/bundle.mjs scripts/
COPY src src
# Type-checked by tsc (tests and benchmarks are not in the build context), then
# compiled and bundled by esbuild.
RUN npx tsc -p tsconfig.json --noEmit \
 && node scripts/bundle.mjs /out/app \
 && mkdir -p /out/state/sidekick \
 && chmod 0770 /out/state/sidekick

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="sidekick" \
      org.opencontainers.image.description="Docker sidecar that ships container logs, events, inspect, stats and log files as one JSON stream to stdout, syslog, HTTP and Prometheus" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0"
# The heap limit bounds memory near the buffers (README, Guarantees and limits):
# 2 x the default 64 MiB buffer + 64 MiB. Raise it with bigger buffers. A
# 4 MiB semi-space keeps V8's young generation at 8 MiB instead of 32; two
# malloc arenas keep glibc from one per thread, and fixed thresholds keep it
# from holding big freed blocks (see src/relaunch.ts).
ENV PATH=/nodejs/bin:/usr/local/bin:/usr/bin:/bin \
    NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=192 --max-semi-space-size=4" \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=32768 \
    MALLOC_TRIM_THRESHOLD_=65536 \
    SIDEKICK_STATE_DIR=/var/lib/sidekick
COPY --from=build /out/app /app
# The state folder belongs to the user sidekick runs as, and to group root:
# writable also when sidekick runs as root without capabilities (as the
# compose file and the DaemonSet run it, to read the json-files). A named
# volume mounted there starts with this ownership and mode. (COPY of a folder
# copies what it holds, not its mode: the folder is copied from its parent.)
COPY --from=build --chown=65532:0 /out/state/ /var/lib/
# Not root: the Docker socket is reached through its group (docker run
# --group-add "$(stat -c %g /var/run/docker.sock)").
USER 65532:65532
EXPOSE 9324
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["node", "/app/sidekick.mjs", "--healthcheck"]
ENTRYPOINT ["node", "/app/sidekick.mjs"]
