#!/usr/bin/env bash
# Builds every built-in plugin for wasm32-wasip1 in release (LTO, stripped, no unwinding; see
# Cargo.toml) and copies the modules into plugins/dist/, which the host embeds. Reproducible:
# locked dependencies, no debug info, and the machine-specific paths (this checkout, cargo home,
# rustc sources) remapped, so the same sources give the same bytes on another machine with the
# same toolchain.
#   plugins/build.sh           build and copy
#   plugins/build.sh --check   build into a scratch dir and fail if dist/ differs
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
target=wasm32-wasip1
plugins=(file command http dns tcp smtp)

cargo_home="${CARGO_HOME:-$HOME/.cargo}"
sysroot="$(rustc --print sysroot)"
export RUSTFLAGS="-C debuginfo=0 -C strip=symbols \
 --remap-path-prefix=$here=/reglet/plugins \
 --remap-path-prefix=$cargo_home=/cargo \
 --remap-path-prefix=$sysroot=/rustc"
export CARGO_INCREMENTAL=0 SOURCE_DATE_EPOCH=0

packages=()
for p in "${plugins[@]}"; do packages+=(-p "reglet-plugin-$p"); done
cargo build --locked --release --target "$target" "${packages[@]}"

out="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
dest="$here/dist"
check=0
if [[ "${1:-}" == "--check" ]]; then
    check=1
    dest="$(mktemp -d)"
    trap 'rm -rf "$dest"' EXIT
fi
mkdir -p "$dest"
for p in "${plugins[@]}"; do
    cp "$out/$target/release/reglet_plugin_$p.wasm" "$dest/$p.wasm"
done

if (( check )); then
    status=0
    for p in "${plugins[@]}"; do
        if ! cmp -s "$dest/$p.wasm" "$here/dist/$p.wasm"; then
            echo "plugins/dist/$p.wasm differs from its sources: run plugins/build.sh and commit" >&2
            status=1
        fi
    done
    exit $status
fi
(cd "$dest" && sha256sum ./*.wasm | sed 's# \./# #' > SHA256SUMS && ls -l ./*.wasm)
