# Gatehouse image: Node 24 LTS, built from package-lock.json (`npm ci`), production dependencies only in
# the final stage, runs as the unprivileged `node` user (uid 1000), with a health check.
#   docker build -t gatehouse .
ARG NODE_IMAGE=node:24-bookworm-slim

# Production dependencies only, from the lock file.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Full install (TypeScript and the build tools) to compile; nothing of this stage ships but dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
COPY bench ./bench
COPY web ./web
COPY scripts/build-embedded-template.mjs ./scripts/
RUN npm run build

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PORT=8080 \
    GATEWAY_CONFIG=/etc/gatehouse/gateway.yaml \
    DATA_DIR=/var/lib/gatehouse
WORKDIR /app
# Code and dependencies stay owned by root: the process cannot rewrite them.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY gateway.yaml /etc/gatehouse/gateway.yaml
# DATA_DIR: the embedded database (without DATABASE_URL) and the ledger spill files.
RUN mkdir -p /var/lib/gatehouse && chown 1000:1000 /var/lib/gatehouse
VOLUME ["/var/lib/gatehouse"]
# Numeric, so Kubernetes' runAsNonRoot can verify it (the image's `node` user).
USER 1000:1000
EXPOSE 8080
# Ready: 200 when ok or degraded, 503 when failing (node is in the image; curl is not).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node is PID 1 and handles SIGTERM itself (graceful drain); exec form, no shell in between.
CMD ["node", "--min-semi-space-size=16", "--liftoff-only", "dist/src/main.js"]
