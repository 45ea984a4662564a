#!/usr/bin/env bash
# Vendor the dashboard's chart library from the npm registry at build time (no CDN at run
# time): uPlot's minified bundle and stylesheet into src/ratchet/apps/web/static/vendor/.
set -euo pipefail
VERSION=1.6.32
dest="$(cd "$(dirname "$0")/.." && pwd)/src/ratchet/apps/web/static/vendor"
[ -f "$dest/uPlot.iife.min.js" ] && grep -q "$VERSION" "$dest/VERSION" 2>/dev/null && exit 0
command -v npm >/dev/null || { echo "npm is needed to vendor uPlot (apt-get install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "uplot@$VERSION" --silent >/dev/null 2>&1 && tar xzf uplot-*.tgz)
mkdir -p "$dest"
cp "$tmp/package/dist/uPlot.iife.min.js" "$tmp/package/dist/uPlot.min.css" "$tmp/package/LICENSE" "$dest/"
echo "uplot $VERSION" > "$dest/VERSION"
echo "vendored uPlot $VERSION into $dest"
