# One image for the webhook and the watcher (and kubectl-coredog, for convenience).
# Node is pinned to the same release the tests run on (devDependencies.node).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY controller ./controller
COPY plugin ./plugin
COPY scripts ./scripts
# tsc output (the webhook runs it), then the esbuild bundles: dist/cli/ for kubectl-coredog and
# dist/controller/bundle/ that bin/coredog-controller runs (the watcher: tree-shaken, ~60 MiB less RSS).
RUN npx tsc -p tsconfig.build.json \
 && node scripts/build-cli.mjs dist \
 && node scripts/build-controller.mjs dist

FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
# Runtime dependencies only: the `node` devDependency (120 MB) stays out; the base image brings Node.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Debian, not Alpine: glibc, and bash for `kubectl exec ... -- bash` into the watcher.
FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="coredog" \
      org.opencontainers.image.description="Collects the core dumps of crashing processes in Kubernetes pods" \
      org.opencontainers.image.source="https://github.com/coredog/coredog"
ENV NODE_ENV=production \
    PATH=/app/bin:$PATH
WORKDIR /app
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json oclif.manifest.json ./
COPY bin ./bin
RUN bash --version >/dev/null && coredog-controller version
# Non-root by default (the webhook); the watcher's DaemonSet runs it as root to read root-owned cores.
USER 65532:65532
ENTRYPOINT ["coredog-controller"]
CMD ["--help"]
