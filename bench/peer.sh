#!/usr/bin/env bash
# The peer a user would write instead of the sweeper: kubectl + jq.
#
#   bench/peer.sh KUBECONFIG            # deletes bindings whose owning constraint is gone
#   DRY_RUN=1 bench/peer.sh KUBECONFIG  # only lists them
#
# Lists templates, every constraint (the "constraint" category) and the bindings; a binding
# whose controller ownerReference points into constraints.gatekeeper.sh at a uid no live
# constraint has is deleted. Policies whose template is gone are counted, not deleted.
# Needs kubectl and jq (apt-get install -y jq). Prints one JSON line at the end.
set -euo pipefail
export KUBECONFIG="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

kubectl get constrainttemplates -o json > "$tmp/templates.json"
kubectl get constraints -o json > "$tmp/constraints.json"
kubectl get validatingadmissionpolicybindings -o json > "$tmp/bindings.json"
kubectl get validatingadmissionpolicies -o json > "$tmp/policies.json"

jq -r '.items[].metadata.uid' "$tmp/constraints.json" | sort -u > "$tmp/live-constraints"
jq -r '.items[].metadata.uid' "$tmp/templates.json" | sort -u > "$tmp/live-templates"

# name <TAB> owner uid, for objects owned by a Gatekeeper object of the given group
owned() {
  jq -r --arg group "$2" '.items[] | .metadata.name as $name
    | (.metadata.ownerReferences // [])[]
    | select(.controller == true and (.apiVersion | startswith($group + "/")))
    | [$name, .uid] | @tsv' "$1"
}
owned "$tmp/bindings.json" constraints.gatekeeper.sh > "$tmp/owned-bindings"
owned "$tmp/policies.json" templates.gatekeeper.sh > "$tmp/owned-policies"

gone() { awk -F'\t' 'NR == FNR { live[$1]; next } !($2 in live) { print $1 }' "$1" "$2"; }
gone "$tmp/live-constraints" "$tmp/owned-bindings" > "$tmp/gone-bindings"
gone "$tmp/live-templates" "$tmp/owned-policies" > "$tmp/gone-policies"

if [ -z "${DRY_RUN:-}" ] && [ -s "$tmp/gone-bindings" ]; then
  xargs kubectl delete validatingadmissionpolicybinding --ignore-not-found \
    < "$tmp/gone-bindings" > /dev/null
fi
printf '{"bindings_gone": %d, "policies_gone": %d, "dry_run": %s}\n' \
  "$(wc -l < "$tmp/gone-bindings")" "$(wc -l < "$tmp/gone-policies")" \
  "$([ -n "${DRY_RUN:-}" ] && echo true || echo false)"
