# syntax=docker/dockerfile:1
# One image per service, from one Dockerfile:
#   docker build --build-arg SERVICE=intake -t ghcr.io/wijkbrug/intake:0.1.0 .
# SERVICE is intake, case-direction, provider-monitoring or referral. The binary is static
# (CGO off) and runs as the distroless "nonroot" user (65532) on a read-only root filesystem;
# the same binary serves (`<svc>`), migrates (`<svc> migrate`) and checks the access log
# (`<svc> verify-accesslog`). Pin the base images by digest in your build pipeline.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath GOTOOLCHAIN=local
# Module files first, so the dependency download is cached across source changes.
COPY go.work go.work.sum ./
COPY pkg/go.mod pkg/go.sum pkg/
COPY services/intake/go.mod services/intake/go.sum services/intake/
COPY services/case-direction/go.mod services/case-direction/go.sum services/case-direction/
COPY services/provider-monitoring/go.mod services/provider-monitoring/go.sum services/provider-monitoring/
COPY services/referral/go.mod services/referral/go.sum services/referral/
COPY cmd/wijkbrug/go.mod cmd/wijkbrug/go.sum cmd/wijkbrug/
COPY deploy/validate/go.mod deploy/validate/go.sum deploy/validate/
COPY examples/subscriber/go.mod examples/subscriber/go.sum examples/subscriber/
RUN --mount=type=cache,target=/root/go/pkg/mod cd services/intake && go mod download
COPY pkg pkg
COPY services services
ARG SERVICE
RUN --mount=type=cache,target=/root/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    test -n "$SERVICE" || { echo "--build-arg SERVICE=<intake|case-direction|provider-monitoring|referral>"; exit 1; }; \
    cd services/$SERVICE && go build -ldflags="-s -w" -o /out/service ./cmd/$SERVICE

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/service /usr/local/bin/service
USER 65532:65532
# No EXPOSE: the ports depend on SERVICE (gRPC / REST edge / admin by default: intake
# 50051/50071/9091, case-direction 50052/50072/9092, provider-monitoring 50053/50073/9093,
# referral 50054/50074/9094; WIJKBRUG_GRPC_ADDR, _REST_ADDR, _ADMIN_ADDR move them), and
# EXPOSE is only metadata: the Deployments in deploy/ name each service's ports.
ENTRYPOINT ["/usr/local/bin/service"]
