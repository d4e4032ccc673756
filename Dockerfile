# bulwark and bulwark-loadgen in one image (docker-compose.yml builds it).
#
# The build stage is a plain Debian 12 set up by the same script as a
# developer's machine or CI (scripts/install-deps), so the image is built
# with exactly the toolchain and libraries the tests ran against. The
# runtime stage holds the two binaries, the built-in rule packs and only the
# shared libraries they link (`ldd build/src/app/bulwark`).
#
#   docker build -t bulwark:local .
#   docker run --rm bulwark:local rules check          # built-in packs compile
#   docker run --rm -p 127.0.0.1:9464:9464 bulwark:local run -c /etc/bulwark/compose.yaml

FROM debian:12.8 AS build
# Only the script first: the package layer is reused until it changes.
COPY scripts/install-deps /tmp/install-deps
RUN /tmp/install-deps && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Only the two programs: the tests and benchmarks are not part of the image.
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build --target bulwark bulwark-loadgen

FROM debian:12.8-slim
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends \
      libhyperscan5 libre2-9 libsimdjson14 librdkafka1 libyaml-cpp0.7 libssl3 \
 && rm -rf /var/lib/apt/lists/*
# A fixed, unprivileged uid: key files mounted into the container must be
# owned by it and mode 600 (bulwark refuses key files others can read).
# The cache directory exists in the image so that a named volume mounted
# there (docker-compose.yml) starts owned by that user, not by root.
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/bulwark --create-home bulwark \
 && install -d -o bulwark -g bulwark -m 700 /var/lib/bulwark/cache
COPY --from=build /build/src/app/bulwark /build/src/loadgen/bulwark-loadgen /usr/local/bin/
COPY configs/rules/ /usr/share/bulwark/rules/
COPY configs/demo.yaml configs/compose.yaml configs/production.example.yaml /etc/bulwark/
# Rule packs from the image; compiled rule databases cached in the home
# directory (a volume there keeps them across restarts).
ENV BULWARK_RULES_DIR=/usr/share/bulwark/rules \
    BULWARK_CACHE_DIR=/var/lib/bulwark/cache
USER bulwark
WORKDIR /var/lib/bulwark
EXPOSE 9464
ENTRYPOINT ["bulwark"]
# The embedded cluster and defaults; docker-compose.yml passes its own config.
CMD ["run"]
