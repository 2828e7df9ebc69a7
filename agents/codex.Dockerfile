# OpenAI Codex CLI on top of the Switchboard agent image.
#   docker build -f agents/codex.Dockerfile --build-arg AGENT_IMAGE=switchboard-agent:latest -t switchboard-agent-codex .
# Catalogue:  agent: { command: ["codex", "exec", "--full-auto", "--skip-git-repo-check", "{prompt}"], stdin: closed }
#             env: [OPENAI_API_KEY]   (or nothing: with the inference router, OPENAI_BASE_URL/OPENAI_API_KEY are set per job)
ARG AGENT_IMAGE=switchboard-agent:latest
FROM ${AGENT_IMAGE}
ARG CODEX_VERSION=latest
USER root
RUN npm install -g "@openai/codex@${CODEX_VERSION}" && npm cache clean --force
USER node
