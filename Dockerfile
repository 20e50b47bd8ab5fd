# The controller image: `meshlane controller` plus the release filter it serves at :8080/meshlane.wasm.
# Nothing publishes it: build it with any OCI builder and tag it as manifests/deployment.yaml expects
# (`meshlane:dev`), or push it to your registry and set that image with kustomize (README, "Install into
# a cluster"):
#   docker build -t meshlane:dev .        podman build -t meshlane:dev .       buildah bud -t meshlane:dev .
#   docker buildx build --platform linux/amd64,linux/arm64 -t <registry>/meshlane:<tag> --push .
# Everything in it is JavaScript and Wasm, so it builds for any platform node:22 has. The build runs the
# README's steps (npm ci, then the filter and the TypeScript build), then drops the dev dependencies.
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build:wasm && npm run build:ts && npm prune --omit=dev

FROM node:22-bookworm-slim
LABEL org.opencontainers.image.title=meshlane org.opencontainers.image.licenses=Apache-2.0
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist/controller ./dist/controller
COPY --from=build /src/build/meshlane.wasm ./build/meshlane.wasm
USER 65532:65532
ENTRYPOINT ["node", "/app/bin/meshlane.js"]
CMD ["controller", "--config", "/etc/meshlane/config.yaml"]
