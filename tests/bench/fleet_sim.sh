#!/bin/sh
# fleet_sim at small sizes (CI): every figure line is printed and every self-consistency check
# passes, including a range small enough (1,000 ids for 2,000 names) that the birthday check
# (found pairs within 6 sigma of C(n,2)/m) has thousands of pairs to compare.
set -u
B=${top_builddir:?}/tests/bench/fleet_sim
out=$("$B" --hosts 200 --identities 2000 --users-per-host 100 --cache-sizes 100,500 \
    --token-logins-per-sec 2 --extra-range 10000-10999) || { echo "$out"; echo "FAIL: fleet_sim exited non-zero"; exit 1; }
echo "$out"
fail=0
for l in 'collisions uid_key=name range=1879048192..2147483646' \
    'collisions uid_key=subject range=1000000..1999999' \
    'collisions uid_key=name range=60001..2147483647' 'idp max_age=' 'idp device_logins_per_hour=' \
    'idp unknown_kid_refetches_per_hour_max=' 'redis token_logins_per_sec=' 'cache users=500 ' \
    'collisions uid_key=name range=10000..10999' 'collisions uid_key=subject range=10000..10999' \
    'cache extrapolated users=100000' 'result ok'; do
    echo "$out" | grep -q "^$l" || { echo "FAIL: no line '$l'"; fail=1; }
done
echo "$out" | grep -q 'FAILED' && { echo "FAIL: a check failed"; fail=1; }
[ "$fail" = 0 ] && echo "ok - fleet_sim figures" || exit 1
