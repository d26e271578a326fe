#!/usr/bin/env bash
# Makes (or rotates) the webhook's serving certificate and installs it:
#   - a CA (kept in --dir and reused on later runs, so rotation keeps caBundle valid),
#   - a serving certificate for coredog-webhook.<namespace>.svc signed by it,
#   - the Secret coredog-webhook-tls (tls.crt, tls.key, ca.crt) in the namespace,
#   - the caBundle of every webhook in the MutatingWebhookConfiguration coredog.
# Rerun it to rotate the serving certificate; --new-ca replaces the CA too (the
# caBundle then carries the old and the new CA, so nothing breaks in between).
set -euo pipefail

namespace=coredog-system
service=coredog-webhook
secret=coredog-webhook-tls
webhook_config=coredog
dir="${COREDOG_PKI_DIR:-${XDG_CONFIG_HOME:-$HOME/.config}/coredog/pki}"
days=365        # serving certificate: one year, like Kubernetes' own component certificates
ca_days=1825    # CA: five years
new_ca=false
apply=true
kubectl_args=()

usage() {
  cat <<USAGE
Usage: scripts/generate-cert.sh [options]

  --namespace NS      namespace of the webhook Service and Secret (default: $namespace)
  --service NAME      webhook Service name (default: $service)
  --dir DIR           where the CA and certificates are kept (default: $dir)
  --days N            validity of the serving certificate in days (default: $days)
  --ca-days N         validity of a new CA in days (default: $ca_days)
  --new-ca            replace the CA as well (the caBundle keeps the old CA alongside)
  --no-apply          only write the files, do not touch the cluster
  --kubeconfig FILE   passed to kubectl
  --context NAME      passed to kubectl
  -h, --help          this help
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --namespace) namespace="$2"; shift 2 ;;
    --service) service="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --days) days="$2"; shift 2 ;;
    --ca-days) ca_days="$2"; shift 2 ;;
    --new-ca) new_ca=true; shift ;;
    --no-apply) apply=false; shift ;;
    --kubeconfig) kubectl_args+=(--kubeconfig "$2"); shift 2 ;;
    --context) kubectl_args+=(--context "$2"); shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "generate-cert.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

case "$days$ca_days" in *[!0-9]*) echo "generate-cert.sh: --days and --ca-days take whole numbers" >&2; exit 2 ;; esac
command -v openssl >/dev/null || { echo "generate-cert.sh: openssl is required" >&2; exit 1; }
if $apply; then
  command -v kubectl >/dev/null || { echo "generate-cert.sh: kubectl is required (or use --no-apply)" >&2; exit 1; }
fi

k() { kubectl "${kubectl_args[@]}" "$@"; }

mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"
umask 077

if $new_ca && [ -f ca.crt ]; then
  mv ca.crt ca-previous.crt
  rm -f ca.key
fi
if [ ! -f ca.key ] || [ ! -f ca.crt ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout ca.key -out ca.crt -days "$ca_days" -subj "/CN=coredog-webhook-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  echo "made a new CA in $dir/ca.crt (valid $ca_days days)"
else
  echo "reusing the CA in $dir/ca.crt"
fi

dns1="$service"
dns2="$service.$namespace"
dns3="$service.$namespace.svc"
dns4="$service.$namespace.svc.cluster.local"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout tls.key.new -out tls.csr -subj "/CN=$dns3" 2>/dev/null
cat > tls.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$dns1,DNS:$dns2,DNS:$dns3,DNS:$dns4
EXT
openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
  -out tls.crt.new -days "$days" -extfile tls.ext 2>/dev/null
openssl verify -CAfile ca.crt tls.crt.new >/dev/null
mv tls.key.new tls.key
mv tls.crt.new tls.crt
rm -f tls.csr tls.ext

cat ca.crt > ca-bundle.crt
if [ -f ca-previous.crt ]; then
  if openssl x509 -in ca-previous.crt -noout -checkend 0 >/dev/null 2>&1; then
    cat ca-previous.crt >> ca-bundle.crt
  else
    rm -f ca-previous.crt
  fi
fi
echo "serving certificate for $dns3 in $dir/tls.crt (valid $days days, until $(openssl x509 -in tls.crt -noout -enddate | cut -d= -f2))"

$apply || exit 0

k get namespace "$namespace" >/dev/null 2>&1 || k create namespace "$namespace"
k -n "$namespace" create secret generic "$secret" --type=kubernetes.io/tls \
  --from-file=tls.crt=tls.crt --from-file=tls.key=tls.key --from-file=ca.crt=ca.crt \
  --dry-run=client -o yaml | k apply -f -
k -n "$namespace" label secret "$secret" app.kubernetes.io/name=coredog app.kubernetes.io/component=webhook --overwrite >/dev/null

bundle=$(base64 -w0 < ca-bundle.crt)
if count=$(k get mutatingwebhookconfiguration "$webhook_config" -o jsonpath='{range .webhooks[*]}x{end}' 2>/dev/null); then
  ops=""
  for ((i = 0; i < ${#count}; i++)); do
    ops="$ops${ops:+,}{\"op\":\"add\",\"path\":\"/webhooks/$i/clientConfig/caBundle\",\"value\":\"$bundle\"}"
  done
  if [ -n "$ops" ]; then
    k patch mutatingwebhookconfiguration "$webhook_config" --type=json -p "[$ops]" >/dev/null
    echo "caBundle set on mutatingwebhookconfiguration/$webhook_config"
  fi
else
  echo "mutatingwebhookconfiguration/$webhook_config not found: run 'kubectl apply -k manifests', then this script again"
fi
