# arozdfs in a container (docs/install.md "A container"). Build: docker build -t arozdfs .
# Run with the host's network (mDNS discovery needs it): see compose.yaml.
#
# The base is pinned to the Node version the project pins in package.json (a test keeps the two equal).
# Stage 1 emits the library and CLI as JavaScript (lib/); stage 2 has only lib/, bin/ and the three
# runtime dependencies, runs as the image's unprivileged "node" user, and keeps the node's home and
# its store in volumes.

FROM node:24.21.0-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# No install scripts: the image's Node 24 runs the build, the pinned Node package is not needed.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts/build-lib.ts scripts/
COPY bin/ bin/
COPY src/ src/
RUN node scripts/build-lib.ts

FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production \
    AROZDFS_HOME=/var/lib/arozdfs \
    MALLOC_ARENA_MAX=2 \
    NODE_OPTIONS=--max-semi-space-size=2
WORKDIR /opt/arozdfs
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /build/lib/ lib/
COPY --from=build /build/bin/ bin/
RUN ln -s /opt/arozdfs/bin/arozdfs.js /usr/local/bin/arozdfs \
    && mkdir -p /var/lib/arozdfs /srv/arozdfs \
    && chown node:node /var/lib/arozdfs /srv/arozdfs \
    && chmod 0700 /var/lib/arozdfs /srv/arozdfs
USER node
# The home (identity, keys, trust, catalog, default store) and a store folder for a disk.
VOLUME ["/var/lib/arozdfs", "/srv/arozdfs"]
# Cluster port (mutual TLS between paired nodes) and the web UI (HTTPS on a non-loopback address).
EXPOSE 7420 7421
# Healthy once the daemon's control socket answers and says every service listens.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["arozdfs", "wait", "--timeout", "5"]
ENTRYPOINT ["arozdfs"]
# First start: makes the home (node UUID, key pair); then serves. The setup token is in the log.
CMD ["start", "--web", "0.0.0.0:7421", "--store", "/srv/arozdfs"]
