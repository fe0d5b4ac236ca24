#!/usr/bin/env bash
# `npm run lab`: the main job on the local lab. Set up (idempotent), build, bring up the `lab`
# stack's own lab (namespaces and .labs/lab/ derived from the stack name, sized from its
# topology: 4 hypervisors with libvirt, 1 receiver) unless it runs, `pulumi up
# --yes` the `lab` stack with the plain CLI (this script is the operator's explicit "apply"),
# and say where the stream is received. Re-runnable in every state: after `vpm lab down`,
# after a restart (namespaces gone, .lab/ and .pulumi-state/ kept), with a lab rebuilt by
# hand. The state of the lab stacks it owns (lab, paper) that belongs to a lab that is gone is
# reset here (forgotten, said so); no other stack is ever reset by it.
set -euo pipefail
cd "$(dirname "$0")/../.."
STACK="${VPM_STACK:-lab}"
bash lab/setup/setup.sh
echo "lab: building" >&2
npm run -s build
VPM="node dist/cli/vpm.js"
# Only this stack's lab is looked at, stopped or started: other labs (the plain one, other
# stacks', the test suite's) are never touched.
if $VPM lab status --stack "$STACK" >/dev/null 2>&1; then
  echo "lab: stack $STACK's lab is already running; using it (\`npx vpm lab down --stack $STACK\` to start afresh)" >&2
else
  # What a half-dead or vanished lab leaves: stacks recorded on it are forgotten (said so),
  # its processes and files cleared.
  $VPM lab down --stack "$STACK"
  # No lab runs now: whatever the stack's state still holds sat on a lab that is gone.
  $VPM lab forget --stack "$STACK"
  $VPM lab up --stack "$STACK"
fi
# Records that the stack deploys on this lab; for the lab's own stacks a state left by an
# earlier lab is reset here (any other stack's is refused with the command that resets it).
case "$STACK" in lab | paper) RESET=--reset ;; *) RESET= ;; esac
$VPM lab claim --stack "$STACK" $RESET
npm run -s pulumi -- stack select "$STACK" >/dev/null 2>&1 || npm run -s pulumi -- stack init "$STACK" >/dev/null
npm run -s pulumi -- up --yes --stack "$STACK"
echo
echo "The stream (UDP, see receivedAt) enters at the root's port src0 and is received at:"
npm run -s pulumi -- stack output receivedAt --stack "$STACK" --json
cat <<HELP
Send a test stream from the root and watch it at the receiver:
  npx vpm stream watch --stack $STACK &      # counts packets, longest gap
  npx vpm stream send --stack $STACK         # 1000 packets/s for 10 s from h1's src0
Live-migrate the leaf VM while it streams:
  export PATH="\$PWD/.tools/bin:\$PATH" PULUMI_BACKEND_URL="file://\$PWD/.pulumi-state" PULUMI_CONFIG_PASSPHRASE=vpm-lab-passphrase
  pulumi config set --path 'vpm:placement.leafvm' h4 --stack $STACK
  pulumi up --stack $STACK      # previews (new path, migration, old path removed), then asks
HELP
