# syntax=docker/dockerfile:1
# One image for the webhook and the watcher (and kubectl-coredog, for convenience).
# Node is pinned to the same release the tests run on (devDependencies.node).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
# Optional, for machines that reach npm only through their own registry and CA (`npm run image` passes
# them): --build-arg NPM_REGISTRY=URL --secret id=ca,src=CA-BUNDLE. Both stay in this stage: the final
# image has neither in its layers nor in its history. Without them npm uses its defaults.
ARG NPM_REGISTRY=
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=ca,target=/run/secrets/ca.crt \
    if [ -s /run/secrets/ca.crt ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca.crt; fi; \
    if [ -n "$NPM_REGISTRY" ]; then export npm_config_registry="$NPM_REGISTRY"; fi; \
    npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier
COPY tsconfig.json ./
COPY src ./src
COPY controller ./controller
COPY plugin ./plugin
COPY scripts ./scripts
# The esbuild bundles: dist/cli/ for kubectl-coredog, dist/controller/bundle/ for coredog-controller (the
# webhook and the watcher, tree-shaken). They carry their libraries, so the final stage needs no
# node_modules but the closure of oclif's help plugin, which oclif loads by package name.
RUN node scripts/build-cli.mjs dist \
 && node scripts/build-controller.mjs dist \
 && node scripts/runtime-modules.mjs /runtime @oclif/plugin-help

# Debian, not Alpine: glibc, and bash for `kubectl exec ... -- bash` into the watcher.
FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="coredog" \
      org.opencontainers.image.description="Collects the core dumps of crashing processes in Kubernetes pods" \
      org.opencontainers.image.source="https://github.com/coredog/coredog"
ENV NODE_ENV=production \
    PATH=/app/bin:$PATH
WORKDIR /app
COPY --from=build /runtime/node_modules ./node_modules
COPY --from=build /src/dist/cli ./dist/cli
COPY --from=build /src/dist/controller/bundle ./dist/controller/bundle
COPY package.json oclif.manifest.json ./
COPY bin ./bin
# Non-root by default (the webhook): user nonroot, 65532, with a home (oclif asks who the user is);
# the watcher's DaemonSet runs the image as root to read root-owned cores.
RUN groupadd --gid 65532 nonroot \
 && useradd --uid 65532 --gid 65532 -K UID_MAX=65534 --create-home --home-dir /home/nonroot \
      --shell /usr/sbin/nologin nonroot \
 && bash --version >/dev/null && coredog-controller version && kubectl-coredog --version >/dev/null
USER 65532:65532
ENTRYPOINT ["coredog-controller"]
CMD ["--help"]
