# Claude Code on top of the Switchboard agent image.
#   docker build -f agents/claude-code.Dockerfile --build-arg AGENT_IMAGE=switchboard-agent:latest -t switchboard-agent-claude .
# Catalogue:  agent: { command: ["claude", "-p", "{prompt}", "--permission-mode", "acceptEdits"], stdin: closed }
#             env: [ANTHROPIC_API_KEY]
ARG AGENT_IMAGE=switchboard-agent:latest
FROM ${AGENT_IMAGE}
ARG CLAUDE_CODE_VERSION=latest
USER root
RUN npm install -g "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" && npm cache clean --force
USER node
