# Build a static binary, then ship it alone in a distroless, non-root image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /gateway ./cmd/gateway

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /gateway /gateway
USER nonroot:nonroot
ENV GATEWAY_ADDR=0.0.0.0:8080
EXPOSE 8080
# The image has no shell or curl: the binary probes itself.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["/gateway", "healthcheck"]
ENTRYPOINT ["/gateway"]
