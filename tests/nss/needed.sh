#!/bin/sh
# libnss_oidc.so.2 must run with libc alone (DESIGN.md, STYLE.md rule 3): readelf -d lists no
# libcurl, libcrypto, libssl, libcjson or libcdb among its NEEDED entries (tinycdb is linked in
# statically), and its dynamic symbol table defines nothing but the _nss_oidc_* entry points.
set -u
: "${top_builddir:=.}"
SO=$top_builddir/nss/.libs/libnss_oidc.so.2
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }

command -v readelf >/dev/null 2>&1 || { echo "SKIP: readelf (binutils) is missing"; exit 77; }
[ -f "$SO" ] || { echo "FAIL - $SO was not built"; exit 1; }

needed=$(readelf -d "$SO" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
echo "NEEDED: $(echo $needed)"
for lib in libcurl libcrypto libssl libcjson libcdb libpam; do
    if printf '%s\n' "$needed" | grep -q "^$lib"; then
        not_ok "NEEDED does not list $lib"
    else
        ok "NEEDED does not list $lib"
    fi
done
# (a sanitizer build also NEEDs its runtime: instrumentation, not a dependency)
other=$(printf '%s\n' "$needed" | grep -v -E '^(libc\.so\.6|libpthread\.so\.0|ld-linux[-a-z0-9_.]*\.so\.[0-9]+|lib(asan|ubsan|lsan|tsan)\.so\.[0-9]+)$' || true)
if [ -z "$other" ]; then ok "NEEDED lists only libc (and maybe libpthread)"; else not_ok "unexpected NEEDED: $other"; fi
soname=$(readelf -d "$SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" = libnss_oidc.so.2 ]; then ok "SONAME is libnss_oidc.so.2"; else not_ok "SONAME is '$soname'"; fi

# Defined dynamic symbols (functions and objects): only the entry points.
defined=$(readelf --dyn-syms -W "$SO" | awk '$7 != "UND" && ($4 == "FUNC" || $4 == "OBJECT") {print $8}' | sed 's/@.*//' | sort -u)
extra=$(printf '%s\n' "$defined" | grep -v '^_nss_oidc_' || true)
if [ -z "$extra" ]; then ok "only _nss_oidc_* symbols are exported"; else not_ok "also exported: $(echo $extra)"; fi
n=$(printf '%s\n' "$defined" | grep -c '^_nss_oidc_')
if [ "$n" = 11 ]; then ok "11 entry points exported"; else not_ok "$n entry points exported, wanted 11"; fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
