#!/usr/bin/env bash
# Install the pinned browser libraries of radium_otel/ui (package.json + package-lock.json,
# `npm ci`: exactly the locked versions) and copy the files the UI ships, each beside its
# LICENSE, into radium_otel/ui/static/vendor/ (committed: installed users need no npm).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts --silent
out=../../radium_otel/ui/static/vendor/uplot
mkdir -p "$out"
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css "$out/"
cp node_modules/uplot/LICENSE "$out/LICENSE"
version="$(node -p 'require("./node_modules/uplot/package.json").version')"
echo "uPlot $version (MIT), from the npm registry; copied by tools/ui-vendor/copy.sh" > "$out/VERSION"
echo "copied uPlot $version into radium_otel/ui/static/vendor/uplot"
