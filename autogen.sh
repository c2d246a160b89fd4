#!/bin/sh
# Generate the build system from configure.ac and Makefile.am (nothing generated is kept in git).
set -e
cd "$(dirname "$0")"
autoreconf --install --force "$@"
