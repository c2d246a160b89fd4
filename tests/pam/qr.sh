#!/bin/sh
# The device prompt's QR code is scannable and fits the terminal. Real device logins through a
# real Linux-PAM stack and the real OpenID Provider, with qr = compact (Unicode half blocks) and
# qr = yes (ASCII): the approve hook takes the prompt as the user saw it, draws its QR lines as a
# light-on-dark terminal would (tests/pam/qrimg), decodes the picture with zbarimg and approves
# the user code the QR carries, so the login succeeds only through the QR. Then: the decoded text
# is the verification_uri_complete of the same prompt, the compact prompt fits 80 columns (display
# width) and 24 lines, the ASCII prompt is ASCII only, qr=no and a prompt with no room show no QR
# but still the URL and the code, and the renderer's size limits (tests/pam/qrgen) hold at their
# boundaries, every drawing decoding to its text.
. "$(dirname "$0")/lib.sh"
QRIMG=$top_builddir/tests/pam/qrimg
QRGEN=$top_builddir/tests/pam/qrgen
if ! grep -q '^#define HAVE_QRENCODE 1' "$top_builddir/config.h"; then
    echo "SKIP: built without libqrencode (no QR codes)"
    exit 77
fi
command -v zbarimg >/dev/null || { echo "SKIP: zbarimg is missing (Debian: zbar-tools)"; exit 77; }
LC_ALL=C.UTF-8 wc -L </dev/null >/dev/null 2>&1 || { echo "SKIP: no C.UTF-8 locale"; exit 77; }
NODBUS=
zbarimg --help 2>&1 | grep -q -- --nodbus && NODBUS=--nodbus

# decode FILE: the QR text lines in FILE as a picture, decoded (nothing when unreadable)
decode() {
    "$QRIMG" <"$1" >"$1.pgm" && zbarimg $NODBUS -q --raw "$1.pgm" 2>/dev/null
}
# prompt_of TRANSCRIPT: the device prompt as the user sees it (without pamdrv's "[1] ")
prompt_of() {
    sed -n '/^\[1\] To sign in/,/^Press Enter once you have approved/p' "$1" | sed '1s/^\[1\] //'
}
# qr_of TRANSCRIPT: the QR lines: after "(or open ... and enter the code)", up to the empty line
# (or to "Press Enter" when there is no QR)
qr_of() {
    prompt_of "$1" |
        awk '/^\(or open .* and enter the code\)$/ { q = 1; next } q && /^$|^Press Enter/ { exit } q'
}
# url_of TRANSCRIPT: the URL line of the prompt
url_of() {
    prompt_of "$1" | sed -n '3s/^    //p'
}
cols() { LC_ALL=C.UTF-8 wc -L <"$1"; }
lines() { wc -l <"$1"; }

# the approve hook: scan the QR of the prompt just shown (the transcript already holds it) and
# approve the user code found in the decoded URL, not the one pamdrv read from the text
cat >"$WORK/scan-approve.sh" <<EOF
#!/bin/sh
t=\$1
sed -n '/^\[1\] To sign in/,/^Press Enter once/p' "\$t" |
    awk '/^\(or open .* and enter the code\)\$/ { q = 1; next } q && /^\$/ { exit } q' >"\$t.qr"
"$QRIMG" <"\$t.qr" >"\$t.pgm" || exit 1
zbarimg $NODBUS -q --raw "\$t.pgm" >"\$t.decoded" 2>/dev/null || exit 1
code=\$(sed -n 's/.*[?&]user_code=\([^&]*\).*/\1/p' "\$t.decoded")
[ -n "\$code" ] || exit 1
exec node "$IDP_DIR/approve.mjs" --state "$IDP" --user-code "\$code" --user alice \
    --password alice-pw >/dev/null 2>&1
EOF
chmod 755 "$WORK/scan-approve.sh"

start_idp
write_pam_config
sed -i '/^\[provider people\]$/a qr = compact' "$CONF"

# --- compact (the provider's qr = compact)
T=$WORK/transcript.compact
stack compact "provider=people flow=device timeout=30"
drv -s compact -u alice -A "$WORK/scan-approve.sh $T" -T "$T" -o auth
prompt_of "$T" >"$WORK/prompt.compact"
qr_of "$T" >"$WORK/qr.compact"
URL=$(url_of "$T")
check "compact: the login succeeds with the code read from the QR" phase authenticate PAM_SUCCESS
check "compact: the URL in the prompt is verification_uri_complete ($URL)" \
    sh -c 'case "$1" in "$2"/device\?user_code=?*) ;; *) exit 1 ;; esac' sh "$URL" "$OP_URL"
check "compact: the QR uses half blocks" grep -q '[▀▄]' "$WORK/qr.compact"
check "compact: the decoded QR is the URL of the prompt" [ "$(cat "$T.decoded")" = "$URL" ]
check "compact: decoding the extracted lines again gives the same URL" \
    [ "$(decode "$WORK/qr.compact")" = "$URL" ]
check "compact: the QR has one line per two module rows ($(lines "$WORK/qr.compact") lines, $(cols "$WORK/qr.compact") columns)" \
    [ "$(lines "$WORK/qr.compact")" = $((($(cols "$WORK/qr.compact") + 1) / 2)) ]
check "compact: the prompt fits 80 columns (display width $(cols "$WORK/prompt.compact"))" \
    [ "$(cols "$WORK/prompt.compact")" -le 80 ]
check "compact: the prompt fits 24 lines ($(lines "$WORK/prompt.compact"))" \
    [ "$(lines "$WORK/prompt.compact")" -le 24 ]
check "compact: the code is still shown in text" grep -Eq '^and check that it shows the code: .+' \
    "$WORK/prompt.compact"

# --- ascii (qr=yes as a module argument overrides the provider's compact)
T=$WORK/transcript.ascii
stack ascii "provider=people flow=device timeout=30 qr=yes"
drv -s ascii -u alice -A "$WORK/scan-approve.sh $T" -T "$T" -o auth
prompt_of "$T" >"$WORK/prompt.ascii"
qr_of "$T" >"$WORK/qr.ascii"
URL=$(url_of "$T")
check "ascii: the login succeeds with the code read from the QR" phase authenticate PAM_SUCCESS
check "ascii: the QR is drawn with '#'" grep -q '^##*  *#' "$WORK/qr.ascii"
check "ascii: the decoded QR is the URL of the prompt" [ "$(cat "$T.decoded")" = "$URL" ]
check "ascii: the prompt is ASCII only" sh -c '[ "$(LC_ALL=C tr -d "\n -~" <"$1" | wc -c)" = 0 ]' \
    sh "$WORK/prompt.ascii"
check "ascii: one line per module row, two columns per module ($(lines "$WORK/qr.ascii") lines, $(cols "$WORK/qr.ascii") columns)" \
    [ "$(($(lines "$WORK/qr.ascii") * 2))" = "$(cols "$WORK/qr.ascii")" ]
check "ascii: the prompt fits 80 columns ($(cols "$WORK/prompt.ascii"))" \
    [ "$(cols "$WORK/prompt.ascii")" -le 80 ]

# --- no QR: qr=no, and a compact QR with no room left (a long PAM user wraps the first line)
approve() {
    printf 'node %s/approve.mjs --state %s --user-code "$OIDC_USER_CODE" --user alice --password alice-pw >/dev/null 2>&1' \
        "$IDP_DIR" "$IDP"
}
T=$WORK/transcript.no
stack noqr "provider=people flow=device timeout=30 qr=no"
drv -s noqr -u alice -A "$(approve)" -T "$T" -o auth
check "qr=no: the login succeeds" phase authenticate PAM_SUCCESS
check "qr=no: no QR lines" [ -z "$(qr_of "$T")" ]
check "qr=no: the prompt is its 7 lines of text" [ "$(prompt_of "$T" | wc -l)" = 7 ]

LONG=a-user-name-that-makes-line-one-wrap
T=$WORK/transcript.full
drv -s compact -u "$LONG" -A "$(approve)" -T "$T" -o auth
prompt_of "$T" >"$WORK/prompt.full"
check "no room: the first line wraps at 80 columns" [ "$(head -n 1 "$WORK/prompt.full" | wc -L)" -gt 80 ]
check "no room: no QR (it would make the prompt 25 rows)" [ -z "$(qr_of "$T")" ]
check "no room: the URL is still shown" [ -n "$(url_of "$T")" ]
check "no room: the code is still shown" grep -Eq '^and check that it shows the code: .+' \
    "$WORK/prompt.full"

# --- the renderer's limits at their boundaries (lower-case text: one 8-bit segment, error
# correction L): compact within max_lines and 80 columns, ascii within 80 columns
text() { awk -v n="$1" 'BEGIN { s = "https://idp.example.com/device?code="; while (length(s) < n) s = s "x"; print s }'; }
# drawn NAME STYLE MAX_LINES LEN COLS LINES: drawn with that size, and decodes to the text
drawn() {
    t=$(text "$4")
    if "$QRGEN" "$2" "$3" "$t" >"$WORK/gen" && [ "$(cols "$WORK/gen")" = "$5" ] &&
        [ "$(lines "$WORK/gen")" = "$6" ] && [ "$(decode "$WORK/gen")" = "$t" ]; then
        ok "$1"
    else
        not_ok "$1 ($(cols "$WORK/gen") columns, $(lines "$WORK/gen") lines)"
    fi
}
# refused NAME STYLE MAX_LINES LEN: the renderer draws nothing
refused() {
    "$QRGEN" "$2" "$3" "$(text "$4")" >"$WORK/gen"
    rc=$?
    check "$1" sh -c '[ "$1" = 1 ] && [ ! -s "$2" ]' sh "$rc" "$WORK/gen"
}
drawn "compact, 53 bytes: version 3 in 31 columns and 16 lines" compact 16 53 31 16
refused "compact, 54 bytes: version 4 needs 18 lines, only 16 left: no QR" compact 16 54
drawn "compact, 54 bytes: drawn when 18 lines are left" compact 18 54 35 18
drawn "compact, 520 bytes: version 15 in 79 columns" compact 40 520 79 40
refused "compact, 521 bytes: version 16 would take 83 columns: no QR" compact 100 521
drawn "ascii, 106 bytes: version 5 in 78 columns, 39 lines (no line limit)" ascii 0 106 78 39
refused "ascii, 107 bytes: version 6 would take 86 columns: no QR" ascii 100 107

finish
