# Switchboard images. Plain multi-stage syntax (no BuildKit-only features), so
# the legacy builder and BuildKit both build it.
#   docker build --target dispatcher -t switchboard-dispatcher .
#   docker build --target agent      -t switchboard-agent .

# ---- build: compile TypeScript, then keep only production dependencies
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- dispatcher: the Slack app, queue worker and relay
FROM node:24-bookworm-slim AS dispatcher
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]

# ---- agent: the runner (one container per job), with git for cloning
FROM node:24-bookworm-slim AS agent
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /workspace && chown node:node /workspace
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
WORKDIR /workspace
ENTRYPOINT ["node", "/app/dist/agent/main.js"]
