# Builds the portal-api server. Used by docker-compose.yml.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p api --bin portal-api

FROM debian:bookworm-slim
# libpq for PostgreSQL; curl for the container health check.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data portal \
 && mkdir -p /data && chown portal /data
COPY --from=build /src/target/release/portal-api /usr/local/bin/portal-api
USER portal
ENV PORTAL_LISTEN=0.0.0.0:8080 \
    PORTAL_DATA_DIR=/data \
    RUST_LOG=info
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["portal-api"]
CMD ["serve"]
