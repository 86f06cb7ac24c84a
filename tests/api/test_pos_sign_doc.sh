#!/bin/bash
# test_pos_sign_doc.sh: the OpenSSL snippet of docs/pos-signing.md, run as a
# POS vendor would paste it, prints the signature the document shows (and
# test_pos_sign checks that signature against the server's own code).
. "$(dirname "$0")/lib.sh"

DOC=$T_ROOT/docs/pos-signing.md

# The fenced block right after the marker comment.
awk '/^<!-- pos-signing-example -->$/ { want = 1; next }
     want && /^```sh$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$DOC" >"$T_TMP/example.sh"
check "the document has the example script" test -s "$T_TMP/example.sh"

doc_sig=$(sed -n 's/^    signature: \([0-9a-f]\{64\}\)$/\1/p' "$DOC")
check "the document shows one signature" test "$(printf '%s\n' "$doc_sig" | grep -c .)" -eq 1

got=$(bash -e "$T_TMP/example.sh" 2>"$T_TMP/err")
if [ -n "$doc_sig" ] && [ "$got" = "$doc_sig" ]; then
    ok "the snippet prints the document's signature"
else
    not_ok "the snippet prints the document's signature" "document: $doc_sig" "snippet:  $got" "$(cat "$T_TMP/err")"
fi

# The header in the document carries that same signature.
check "the Authorization header carries it" \
    grep -q "^    Authorization: KESSAI-HMAC-SHA256 key_id=tk_[0-9a-z]*,ts=[0-9]*,nonce=[A-Za-z0-9_-]*,sig=$doc_sig\$" "$DOC"

# The body hash the document shows is the hash of the snippet's body.
body=$(sed -n "s/^BODY='\\(.*\\)'\$/\\1/p" "$T_TMP/example.sh")
body_sha=$(printf '%s' "$body" | openssl dgst -sha256 -r | cut -d' ' -f1)
check "the body hash is the body's" grep -q "^    body sha-256: $body_sha\$" "$DOC"

t_done
