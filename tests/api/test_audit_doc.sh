#!/bin/bash
# test_audit_doc.sh: the OpenSSL snippet of docs/audit-log.md, run as an
# auditor would paste it, prints the key and the two hashes the document
# shows, and the bytes of entry 1's message shown there are the snippet's
# (test_audit checks kessai's own code against the same values).
. "$(dirname "$0")/lib.sh"

DOC=$T_ROOT/docs/audit-log.md

# The fenced block right after the marker comment.
awk '/^<!-- audit-log-example -->$/ { want = 1; next }
     want && /^```sh$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$DOC" >"$T_TMP/example.sh"
check "the document has the example script" test -s "$T_TMP/example.sh"

doc_key=$(sed -n 's/^    K_audit (hex): *\([0-9a-f]\{64\}\)$/\1/p' "$DOC")
doc_h1=$(sed -n 's/^    hash of entry 1: *\([0-9a-f]\{64\}\)$/\1/p' "$DOC")
doc_h2=$(sed -n 's/^    hash of entry 2: *\([0-9a-f]\{64\}\)$/\1/p' "$DOC")
check "the document shows the key and two hashes" test -n "$doc_key" -a -n "$doc_h1" -a -n "$doc_h2"

got=$(bash -e "$T_TMP/example.sh" 2>"$T_TMP/err")
want=$(printf 'K_audit: %s\nentry 1: %s\nentry 2: %s' "$doc_key" "$doc_h1" "$doc_h2")
if [ "$got" = "$want" ]; then
    ok "the snippet prints the document's key and hashes"
else
    not_ok "the snippet prints the document's key and hashes" "document: $want" "snippet:  $got" "$(cat "$T_TMP/err")"
fi

# The hex dump of entry 1's message, without its annotations, is the
# snippet's M1 (its length line says 156 bytes).
doc_m1=$(awk '/is these 156 bytes:/ { f = 1; next } f && /hash of entry 1/ { exit } f' "$DOC" |
    sed 's/ str(.*\| int(.*//' | tr -d ' \n')
snippet_m1=$( (sed '/^echo /d' "$T_TMP/example.sh"; echo 'printf %s "$M1"') | bash -e 2>/dev/null)
check "entry 1's message in the document is the snippet's" test -n "$doc_m1" -a "$doc_m1" = "$snippet_m1"
check "and it is 156 bytes" test "${#doc_m1}" -eq 312

t_done
