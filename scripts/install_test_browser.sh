#!/usr/bin/env bash
# Install Debian's chromium for the HTML-report rendering test (tests/diagnosis/test_report.py) when it is
# missing, apt is available and we are root. Prints one line either way; never fails the build (the test is
# skipped with a clear reason when chromium is absent).
if command -v chromium >/dev/null 2>&1; then
    echo "test browser: $(command -v chromium) present"
    exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    if apt-get install -y -q chromium >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }; then
        echo "test browser: installed chromium ($(command -v chromium))"
    else
        echo "test browser: apt-get install chromium failed; the report rendering test will be skipped"
    fi
else
    echo "test browser: chromium missing (needs apt-get and root to install); the report rendering test will be skipped"
fi
exit 0
