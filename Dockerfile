# The controller image: `meshlane controller` plus the release filter it serves at :8080/meshlane.wasm.
# Build with `docker build -t <registry>/meshlane:<tag> .` and set that image in manifests/deployment.yaml.
# (No Docker engine runs where this project is developed, so CI does not build it; the steps are the
# README's: npm ci, npm run build.)
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build:wasm && npm run build:ts && npm prune --omit=dev

FROM node:22-bookworm-slim
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
