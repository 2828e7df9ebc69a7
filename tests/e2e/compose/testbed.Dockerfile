# The test servers of the Compose end-to-end test (testbed.ts): the Slack
# emulator, the GitHub API double and a git server over smart HTTP. Test-only.
# The first steps are the same as the main Dockerfile's, so their layers are shared.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY tests ./tests
RUN npx tsc -p tests/e2e/compose/tsconfig.testbed.json

FROM node:24-bookworm-slim
# git for `git http-backend` (the same layer as the agent image's).
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /workspace && chown node:node /workspace
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist-testbed ./dist-testbed
USER node
ENTRYPOINT ["node", "/app/dist-testbed/tests/e2e/compose/testbed.js"]
