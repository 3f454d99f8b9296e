#!/usr/bin/env bash
# Regenerate deploy/config/steth.conf.sample and steth-agent.conf.sample from the code's options
# (oslo-config-generator, entry points oslo.config.opts). tests/unit/test_config_samples.py checks
# that the committed samples are what this produces.
set -euo pipefail
cd "$(dirname "$0")/.."
GEN=${OSLO_CONFIG_GENERATOR:-.venv/bin/oslo-config-generator}
for conf in steth steth-agent; do
  "$GEN" --config-file "deploy/config/generator/$conf.conf" "$@"
done
