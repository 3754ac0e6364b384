# syntax=docker/dockerfile:1
# A fedxray hospital on an NVIDIA GPU: @tensorflow/tfjs-node-gpu 4.22, whose libtensorflow needs
# CUDA 11.2 and cuDNN 8.1 (from this base image) and an NVIDIA driver > 450 on the host, exposed
# to the container by the NVIDIA Container Toolkit (docker run --gpus all).
#
# Build from the repository root (the build needs the npm registry and storage.googleapis.com,
# where tfjs-node-gpu's install fetches libtensorflow; the image needs neither):
#   docker build -f deploy/hospital-gpu.Dockerfile -t fedxray-hospital-gpu:0.1.0 .
# Run:
#   docker run --rm --gpus all -e FEDXRAY_TOKEN -v /srv/xrays:/data:ro fedxray-hospital-gpu:0.1.0 \
#     --coordinator https://coordinator.example.org:8443 --data /data
# docs/INSTALL.md has the details.

FROM node:20.20.2-bookworm-slim AS node

FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04 AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# tfjs-node-gpu is an optional dependency: npm goes on without it when its install fails, so the
# build checks that its native binding is there.
RUN npm ci --no-audit --no-fund \
 && ls node_modules/@tensorflow/tfjs-node-gpu/lib/napi-v*/tfjs_binding.node \
 && node tools/scripts/release.mjs --out /release --exclude @tensorflow/tfjs-node \
 && mv /release/fedxray-* /release/fedxray

FROM nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN groupadd --system --gid 10001 fedxray \
 && useradd --system --uid 10001 --gid fedxray --home-dir /nonexistent --shell /usr/sbin/nologin fedxray
COPY --from=build /release/fedxray /opt/fedxray
USER fedxray
WORKDIR /tmp
ENTRYPOINT ["/opt/fedxray/bin/fedxray", "hospital", "--backend", "gpu"]
CMD ["--help"]
