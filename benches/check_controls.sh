#!/usr/bin/env bash
# Times a whole `reglet check` process on a generated profile of N controls × 1 observation of a
# trivial plugin (examples/plugins/file_exists.wat on /etc/hosts), and reports its peak RSS.
#
#   benches/check_controls.sh            # 1 000 controls, release build
#   benches/check_controls.sh 10000      # 10 000 controls
#   PROFILE=dev benches/check_controls.sh 1000
#
# The first run warms the compile cache and is not counted; the best and median of RUNS runs are
# printed. Needs GNU time (/usr/bin/time) for the peak RSS.
set -euo pipefail

N=${1:-1000}
RUNS=${RUNS:-5}
PROFILE=${PROFILE:-release}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "$PROFILE" = release ]; then
    cargo build -q --release -p reglet --manifest-path "$root/Cargo.toml"
else
    cargo build -q -p reglet --manifest-path "$root/Cargo.toml"
fi
target=$(cargo metadata -q --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
dir=$([ "$PROFILE" = release ] && echo release || echo debug)
bin="$target/$dir/reglet"

mkdir -p "$work/plugins"
cp "$root/examples/plugins/file_exists.wat" "$work/plugins/"
{
    printf 'profile: {name: bench, version: 1.0.0}\nplugins: [./plugins/file_exists.wat]\n'
    printf 'controls:\n  items:\n'
    for i in $(seq 1 "$N"); do
        printf '    - id: c%d\n      name: control %d\n      observations:\n' "$i" "$i"
        printf '        - plugin: file_exists\n          config: {path: /etc/hosts}\n'
        printf '          expect: data.exists\n'
    done
} > "$work/profile.yaml"
printf '{}\n' > "$work/config.yaml"

run() {
    HOME="$work" "$bin" check "$work/profile.yaml" --config "$work/config.yaml" \
        --grants-file "$work/grants.yaml" --trust-plugins -q --format json -o "$work/report.json"
}
run # warm the compile cache

times=()
for _ in $(seq 1 "$RUNS"); do
    start=$(date +%s%N)
    run
    end=$(date +%s%N)
    times+=($(((end - start) / 1000000)))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "controls=$N build=$PROFILE runs=$RUNS wall_ms best=${sorted[0]} median=${sorted[$((RUNS / 2))]}"
if [ -x /usr/bin/time ]; then
    rss=$( { /usr/bin/time -f '%M' bash -c "$(declare -f run); work=$work bin=$bin; run" ; } 2>&1 | tail -1)
    echo "peak_rss_kib=$rss"
fi
