#!/bin/sh
# Renders a faultline HTML report to a PNG with headless Chromium, to look at what users see.
# Usage: history/scripts/screenshot.sh REPORT.html [OUT.png]
# Needs chromium (or chromium-browser / google-chrome) on PATH; the report needs no network.
set -eu
report=${1:?usage: screenshot.sh REPORT.html [OUT.png]}
out=${2:-${report%.html}.png}
for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" >/dev/null 2>&1; then
        browser=$candidate
        break
    fi
done
if [ -z "${browser:-}" ]; then
    echo "screenshot.sh: no chromium on PATH (apt-get install chromium)" >&2
    exit 2
fi
absolute=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1200,800 --screenshot="$out" "file://$absolute"
echo "screenshot.sh: wrote $out"
