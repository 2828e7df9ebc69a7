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
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- dispatcher: the Slack app (or the local chat page), queue worker, relay and dashboard
FROM node:24-bookworm-slim AS dispatcher
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The catalogue of the quick start's demo project (docker-compose.yml mounts it unless PROJECTS_YML says otherwise).
COPY demo/projects.yml ./demo/projects.yml
COPY docker/dispatcher-entrypoint.sh /usr/local/bin/switchboard-entrypoint
# No USER here: the entrypoint starts as root only to give the process the Docker
# socket's group (whatever its number on this host), then runs the dispatcher as
# `node` with no capabilities. Started as a non-root user (Kubernetes), it just runs it.
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/local/bin/switchboard-entrypoint"]
CMD ["node", "dist/main.js"]

# ---- agent: the runner (one container per job), with git for cloning
FROM node:24-bookworm-slim AS agent
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /workspace && chown node:node /workspace
# The quick start's demo project (demo/): a small repository to clone, as a bare
# repository inside the image, and the agent that fixes its typo. Read-only for agents.
COPY demo/repo /tmp/demo
COPY demo/demo-agent.mjs /opt/switchboard-demo/demo-agent.mjs
RUN git -C /tmp/demo init -q -b main \
 && git -C /tmp/demo add -A \
 && git -C /tmp/demo -c user.name=Switchboard -c user.email=demo@switchboard.invalid commit -q -m "Demo repository" \
 && git clone -q --bare /tmp/demo /opt/switchboard-demo/demo.git \
 && rm -rf /tmp/demo \
 && chown -R node:node /opt/switchboard-demo/demo.git
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
WORKDIR /workspace
ENTRYPOINT ["node", "/app/dist/agent/main.js"]
