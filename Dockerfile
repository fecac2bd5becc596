# walkrec image: the daemon (walkrecd) and the CLI (walkrec) on Debian 12.
#
#   docker build -t walkrec .
#   docker run -p 127.0.0.1:8080:8080 walkrec        # trains and serves the built-in catalogue
#
# Built and run on a machine without a Docker engine by deploy/check-image.sh (buildah, chroot
# isolation); deploy/README.md has the details, the measured size and the settings.

# ---- build: compile with meson, run the unit tests, install stripped binaries into /out ----
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc meson ninja-build pkg-config libmicrohttpd-dev libjansson-dev libopenblas-dev \
      liburcu-dev zlib1g-dev libcmocka-dev \
 && apt-get clean && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Only what the build reads (meson.build names bench/ and tests/ too), so that edits
# elsewhere keep the cached layers.
COPY meson.build meson_options.txt ./
COPY include include
COPY src src
COPY tools tools
COPY docs docs
COPY bench bench
COPY tests tests
COPY config config
# No -march: the trainer picks its AVX2/AVX-512 kernels at run time, so the image runs on
# any x86-64. /etc/walkrec/walkrecd.conf is the daemon's own settings table (--print-config)
# with the two values a container needs (it gets its admin token at run time).
RUN meson setup /build --buildtype=release \
 && meson compile -C /build \
 && OPENBLAS_NUM_THREADS=1 meson test -C /build --suite unit --print-errorlogs \
 && meson install -C /build --destdir /out --strip \
 && mkdir -p /out/etc/walkrec /out/usr/share/walkrec \
 && cp config/walkrecd.conf /out/usr/share/walkrec/walkrecd.conf.example \
 && /build/walkrecd --print-config --bind 0.0.0.0 \
      --data-dir /var/lib/walkrec > /out/etc/walkrec/walkrecd.conf

# ---- runtime: the shared libraries the binaries link, nothing to compile with ----
FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libmicrohttpd12 libjansson4 libopenblas0-pthread liburcu8 zlib1g \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 walkrec \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/walkrec --no-create-home \
      --shell /usr/sbin/nologin walkrec \
 && install -d -o walkrec -g walkrec -m 0750 /var/lib/walkrec
COPY --from=build /out/ /
COPY deploy/docker/entrypoint.sh /usr/local/bin/walkrecd-entrypoint
COPY deploy/docker/healthcheck.sh /usr/local/bin/walkrec-healthcheck

# Settings come from this file; WALKREC_<NAME> variables and flags override it (mount another
# file over it, or set WALKREC_CONFIG). OpenBLAS gets one thread: the daemon runs its own
# threads around it. The entry point also picks OPENBLAS_CORETYPE from /proc/cpuinfo when it
# is unset (Debian's OpenBLAS falls back to slow SSE3 kernels on CPUs it does not know).
ENV WALKREC_CONFIG=/etc/walkrec/walkrecd.conf \
    OPENBLAS_NUM_THREADS=1

USER walkrec
WORKDIR /var/lib/walkrec
VOLUME /var/lib/walkrec
EXPOSE 8080
# bash's /dev/tcp, no curl in the image: see deploy/docker/healthcheck.sh.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/walkrec-healthcheck"]
ENTRYPOINT ["/usr/local/bin/walkrecd-entrypoint"]
CMD []
