#!/usr/bin/env bash
# Times whole `reglet check` processes on a one-control profile that uses the embedded file
# plugin: the first-ever run (empty compile cache, so the plugin is compiled) and warm runs (the
# compiled plugin comes from the persistent cache).
#
#   benches/builtin_startup.sh           # release build, 5 cold and 11 warm runs
#   COLD=3 WARM=21 benches/builtin_startup.sh
set -euo pipefail

COLD=${COLD:-5}
WARM=${WARM:-11}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build -q --release -p reglet --manifest-path "$root/Cargo.toml"
target=$(cargo metadata -q --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
bin="$target/release/reglet"

cat > "$work/profile.yaml" <<'YAML'
profile: {name: startup, version: 1.0.0}
plugins: [file]
controls:
  items:
    - id: hosts
      name: /etc/hosts exists
      observations:
        - plugin: file
          config: {path: /etc/hosts}
          expect: data.exists
YAML
printf '{}\n' > "$work/config.yaml"

run() {
    HOME="$work" XDG_CACHE_HOME="$work/cache" "$bin" check "$work/profile.yaml" \
        --config "$work/config.yaml" --grants-file "$work/grants.yaml" --trust-plugins -q \
        --format json -o "$work/report.json"
}

ms() { echo $((($2 - $1) / 1000000)); }

median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

cold=()
for _ in $(seq 1 "$COLD"); do
    rm -rf "$work/cache"
    start=$(date +%s%N); run; end=$(date +%s%N)
    cold+=("$(ms "$start" "$end")")
done
warm=()
for _ in $(seq 1 "$WARM"); do
    start=$(date +%s%N); run; end=$(date +%s%N)
    warm+=("$(ms "$start" "$end")")
done
grep -q '"passed_controls": *1' "$work/report.json" || { echo "the control did not pass" >&2; exit 1; }
echo "cold (compile included): median $(median "${cold[@]}") ms of ${cold[*]}"
echo "warm (compile cache hit): median $(median "${warm[@]}") ms of ${warm[*]}"
