# syntax=docker/dockerfile:1
#
# jinlian and jinlian-anchor (the checkpoint prover and relayer, which
# jinlian start runs when checkpoint.prover is on) in a slim Debian image,
# run as a non-root user.
# docker-compose.yml beside this file runs four validators from it; see
# docs/quickstart.md ("Docker") for what was and was not validated.
#
#   docker build -t jinlian:dev .
#   docker run --rm jinlian:dev version
#   docker run --rm --entrypoint jinlian-anchor jinlian:dev version

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Every dependency is pure Go (Badger, goleveldb, gmsm): a static binary runs
# on any base image, whatever its libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/jinlian ./cmd/jinlian-anchor

FROM debian:trixie-slim
# /var/lib/jinlian holds the homes. The node<i> directories exist in the image
# so that the named volumes Compose mounts on them start out owned by jinlian.
RUN useradd --system --user-group --uid 10001 --home-dir /var/lib/jinlian --shell /usr/sbin/nologin jinlian \
 && mkdir -p /var/lib/jinlian/node0 /var/lib/jinlian/node1 /var/lib/jinlian/node2 /var/lib/jinlian/node3 \
             /var/lib/jinlian/node4 /var/lib/jinlian/node5 /var/lib/jinlian/node6 \
 && chown -R jinlian:jinlian /var/lib/jinlian
# jinlian finds jinlian-anchor next to itself.
COPY --from=build /out/jinlian /out/jinlian-anchor /usr/local/bin/
# Helpers of docker-compose.yml (they need only sh, coreutils, sed and getent).
COPY scripts/docker-net.sh /usr/local/bin/jinlian-docker-net
COPY scripts/docker-start.sh /usr/local/bin/jinlian-docker-start
USER jinlian
WORKDIR /var/lib/jinlian
ENV JINLIAN_HOME=/var/lib/jinlian
# CometBFT P2P and RPC.
EXPOSE 26656 26657
ENTRYPOINT ["jinlian"]
CMD ["--help"]
