# Aider on top of the Switchboard agent image (Python in a venv of its own).
#   docker build -f agents/aider.Dockerfile --build-arg AGENT_IMAGE=switchboard-agent:latest -t switchboard-agent-aider .
# Catalogue:  agent: { command: ["aider", "--yes-always", "--no-auto-commits", "--no-gitignore", "--no-check-update", "--message", "{prompt}"], stdin: closed }
#             env: [ANTHROPIC_API_KEY]  (or OPENAI_API_KEY; with the inference router, OLLAMA_HOST/OPENAI_BASE_URL are set per job)
ARG AGENT_IMAGE=switchboard-agent:latest
FROM ${AGENT_IMAGE}
ARG AIDER_VERSION=
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/aider \
 && /opt/aider/bin/pip install --no-cache-dir "aider-chat${AIDER_VERSION:+==${AIDER_VERSION}}" \
 && ln -s /opt/aider/bin/aider /usr/local/bin/aider
# Aider writes its history files into the repository and HOME; HOME is /tmp in the agent container.
ENV AIDER_ANALYTICS=false
USER node
