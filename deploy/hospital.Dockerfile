# syntax=docker/dockerfile:1
# A fedxray hospital on CPU: trains with native TensorFlow (@tensorflow/tfjs-node) when its
# install could download libtensorflow during the build, else with the wasm backend.
#
# Build from the repository root (the build needs the npm registry; the image does not):
#   docker build -f deploy/hospital.Dockerfile -t fedxray-hospital:0.1.0 .
# Run (images read-only, the token from the environment):
#   docker run --rm -e FEDXRAY_TOKEN -v /srv/xrays:/data:ro fedxray-hospital:0.1.0 \
#     --coordinator https://coordinator.example.org:8443 --data /data
# docs/INSTALL.md has the details.

FROM node:20.20.2-bookworm-slim AS build
# Compilers in case a native module has no prebuilt binary for this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN npm ci --no-audit --no-fund \
 && node tools/scripts/release.mjs --out /release --exclude @tensorflow/tfjs-node-gpu \
 && mv /release/fedxray-* /release/fedxray

FROM node:20.20.2-bookworm-slim
RUN groupadd --system --gid 10001 fedxray \
 && useradd --system --uid 10001 --gid fedxray --home-dir /nonexistent --shell /usr/sbin/nologin fedxray
COPY --from=build /release/fedxray /opt/fedxray
USER fedxray
WORKDIR /tmp
ENTRYPOINT ["/opt/fedxray/bin/fedxray", "hospital"]
CMD ["--help"]
