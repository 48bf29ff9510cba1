#!/usr/bin/env bash
# Run once by the `setup` service: the cluster's CA and node certificates, then
# the `fedcat` role (all rights on fedcat-* indices, cluster monitoring) and user.
set -euo pipefail
cd /usr/share/elasticsearch
: "${ELASTIC_PASSWORD:?set ELASTIC_PASSWORD in .env}" "${FEDCAT_ES_PASSWORD:?set FEDCAT_ES_PASSWORD in .env}"
certs=config/certs

if [ ! -f "$certs/ca/ca.crt" ]; then
  bin/elasticsearch-certutil ca --silent --pem -out "$certs/ca.zip"
  unzip -o -q "$certs/ca.zip" -d "$certs"
fi
if [ ! -f "$certs/es03/es03.crt" ]; then
  printf 'instances:\n' > "$certs/instances.yml"
  for node in es01 es02 es03; do
    printf '  - name: %s\n    dns: [%s, localhost]\n    ip: [127.0.0.1]\n' "$node" "$node" >> "$certs/instances.yml"
  done
  bin/elasticsearch-certutil cert --silent --pem -out "$certs/certs.zip" --in "$certs/instances.yml" \
    --ca-cert "$certs/ca/ca.crt" --ca-key "$certs/ca/ca.key"
  unzip -o -q "$certs/certs.zip" -d "$certs"
fi
# Keys readable by Elasticsearch (group 0) only; the CA certificate by everyone (fedcat verifies with it).
chown -R root:root "$certs"
find "$certs" -type d -exec chmod 755 {} \;
find "$certs" -type f -exec chmod 640 {} \;
chmod 644 "$certs/ca/ca.crt"

es=(-s -f --cacert "$certs/ca/ca.crt" -u "elastic:${ELASTIC_PASSWORD}" -H "Content-Type: application/json")
echo "waiting for the cluster"
until curl "${es[@]}" "https://es01:9200/_cluster/health?wait_for_status=yellow&timeout=30s" > /dev/null; do
  sleep 5
done
curl "${es[@]}" -X PUT https://es01:9200/_security/role/fedcat \
  -d '{"cluster": ["monitor"], "indices": [{"names": ["fedcat-*"], "privileges": ["all"]}]}' > /dev/null
curl "${es[@]}" -X PUT https://es01:9200/_security/user/fedcat \
  -d "{\"password\": \"${FEDCAT_ES_PASSWORD}\", \"roles\": [\"fedcat\"]}" > /dev/null
echo "cluster ready, user fedcat set"
