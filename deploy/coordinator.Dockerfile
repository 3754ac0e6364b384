# syntax=docker/dockerfile:1
# The fedxray coordinator: run store, checkpoints and reports in the /var/lib/fedxray volume.
#
# Build from the repository root (the build needs the npm registry; the image does not):
#   docker build -f deploy/coordinator.Dockerfile -t fedxray-coordinator:0.1.0 .
# Register a hospital, then run (TLS certificate and key mounted read-only):
#   docker run --rm -v fedxray-data:/var/lib/fedxray fedxray-coordinator:0.1.0 add-hospital st-marys --data-dir /var/lib/fedxray
#   docker run -d -p 8443:8443 -v fedxray-data:/var/lib/fedxray -v /etc/fedxray/tls:/tls:ro fedxray-coordinator:0.1.0 \
#     --data-dir /var/lib/fedxray --host 0.0.0.0 --port 8443 --tls-cert /tls/cert.pem --tls-key /tls/key.pem \
#     --classes covid19,normal,pneumonia,tuberculosis --arch densenet121 --rounds 20 --min-hospitals 3
# docs/INSTALL.md has the details.

FROM node:20.20.2-bookworm-slim AS build
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
 && useradd --system --uid 10001 --gid fedxray --home-dir /nonexistent --shell /usr/sbin/nologin fedxray \
 && mkdir -p /var/lib/fedxray \
 && chown fedxray:fedxray /var/lib/fedxray
COPY --from=build /release/fedxray /opt/fedxray
USER fedxray
WORKDIR /var/lib/fedxray
VOLUME ["/var/lib/fedxray"]
EXPOSE 8443
ENTRYPOINT ["/opt/fedxray/bin/fedxray", "coordinator"]
CMD ["--help"]
