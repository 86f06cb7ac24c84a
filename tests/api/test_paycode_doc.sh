#!/bin/bash
# test_paycode_doc.sh: the OpenSSL snippet of docs/paycodes.md, run as a
# phone developer would paste it, prints the offline code the document shows
# (and test_paycode checks that code against the server's own derivation).
. "$(dirname "$0")/lib.sh"

DOC=$T_ROOT/docs/paycodes.md

# The fenced block right after the marker comment.
awk '/^<!-- paycode-offline-example -->$/ { want = 1; next }
     want && /^```sh$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$DOC" >"$T_TMP/example.sh"
check "the document has the example script" test -s "$T_TMP/example.sh"

doc_code=$(sed -n 's/^    code: *\([0-9]\{18\}\)$/\1/p' "$DOC")
check "the document shows one code" test "$(printf '%s\n' "$doc_code" | grep -c .)" -eq 1

got=$(bash -e "$T_TMP/example.sh" 2>"$T_TMP/err")
if [ -n "$doc_code" ] && [ "$got" = "$doc_code" ]; then
    ok "the snippet prints the document's code"
else
    not_ok "the snippet prints the document's code" "document: $doc_code" "snippet:  $got" "$(cat "$T_TMP/err")"
fi

# The intermediate values the document shows are the snippet's.
key=$(sed -n 's/^KEY=\([0-9a-f]\{64\}\)$/\1/p' "$T_TMP/example.sh")
check "the key in the snippet is the document's" grep -q "^    key (hex): *$key\$" "$DOC"
mac=$({ printf 'kessai-offline-v1:'; printf '\x00\x00\x00\x00\x03\x93\x87\x00'; } |
    openssl dgst -sha256 -mac HMAC -macopt hexkey:"$key" -r | cut -d' ' -f1)
check "the mac is the document's" grep -q "^    mac: *$mac\$" "$DOC"
# shellcheck disable=SC2059
b64=$(printf "$(printf '%s' "$key" | sed 's/../\\x&/g')" | base64 | tr '/+' '_-' | tr -d '=')
check "the base64url key is the document's" grep -q "^    key: *$b64\$" "$DOC"

t_done
