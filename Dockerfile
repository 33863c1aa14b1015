# syntax=docker/dockerfile:1
# Build: docker build -t sluice --build-arg VERSION=$(git describe --tags --always) .
# The image holds one static binary and runs as a non-root user.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# CGO off: a static binary that runs on distroless/static. chDB support needs
# the chdb build tag and libchdb.so, so it is left out of the image.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/sluice .

# distroless/static carries CA certificates, tzdata and a nonroot user, and no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sluice /usr/local/bin/sluice
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/sluice"]
CMD ["--help"]
