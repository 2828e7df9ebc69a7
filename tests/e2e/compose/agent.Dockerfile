# The agent image with a fake coding agent CLI (CI cannot download Claude Code,
# Codex or Aider): the same way agents/*.Dockerfile add a real one. Test-only.
ARG AGENT_IMAGE=switchboard-agent:latest
FROM ${AGENT_IMAGE}
USER root
COPY fake-coding-agent.mjs /usr/local/bin/fake-coding-agent
RUN chmod 755 /usr/local/bin/fake-coding-agent
USER node
