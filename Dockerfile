FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production PORT=8080 GATEWAY_CONFIG=/config/gateway.yaml
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./
COPY gateway.yaml /config/gateway.yaml
USER node
EXPOSE 8080
CMD ["node", "--min-semi-space-size=16", "dist/src/main.js"]
