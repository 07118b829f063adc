# syntax=docker/dockerfile:1
# widgetgate: a static binary on an empty base image.
#
#   docker build -t widgetgate .
#   docker run -p 7779:7779 -v "$PWD:/config" widgetgate       # serves ./gateway.yaml
#
# Stages:
#   builder   compiles a static (crt-static) glibc binary and lays out every file of the image
#             with scripts/image-rootfs, the same script the tests run without Docker.
#   prebuilt  with --build-arg ROOTFS=prebuilt, takes that layout from the build context
#             instead (a folder made by scripts/image-rootfs): scripts/image-podman builds the
#             image that way where no base image can be pulled.
#   (last)    FROM scratch: the binary, CA certificates, a non-root user; no shell, no compiler.
#
# Config is read from the FOLDER /config (WIDGETGATE_CONFIG=/config/gateway.yaml, files it
# names are relative to it). Mount a folder there, not the single file: editors save by
# writing a new file and renaming it over the old one, and Kubernetes updates a ConfigMap by
# swapping a symlink, so a bind mount of the single file keeps showing the old inode (and a
# ConfigMap subPath mount never updates). Provider keys come from the environment or from
# secret files: ${FMP_API_KEY} in gateway.yaml also reads the file named by FMP_API_KEY_FILE.

ARG ROOTFS=builder

FROM rust:1-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY scripts/image-rootfs ./scripts/image-rootfs
COPY gateway.yaml ./
COPY widgets ./widgets
# The cache mounts keep the crates and the compiled dependencies between builds; the binary is
# copied out of them into /rootfs by the script.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    scripts/image-rootfs /rootfs

FROM scratch AS prebuilt
COPY . /rootfs/

FROM ${ROOTFS} AS rootfs

FROM scratch
COPY --from=rootfs /rootfs/ /
ENV WIDGETGATE_CONFIG=/config/gateway.yaml \
    WIDGETGATE_LISTEN=0.0.0.0:7779 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /config
EXPOSE 7779
# What `docker stop` and Kubernetes send; the server then finishes in-flight requests (10 s).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/widgetgate", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/widgetgate"]
CMD ["serve"]
