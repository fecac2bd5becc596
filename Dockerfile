# Placeholder until the packaging issue: builds the CLI and runs the unit tests.
# Not yet checked with buildah here; see deploy/README.md.
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      gcc meson ninja-build pkg-config libmicrohttpd-dev libjansson-dev libopenblas-dev \
      liburcu-dev zlib1g-dev libcmocka-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN meson setup /build && meson compile -C /build && meson test -C /build --suite unit
