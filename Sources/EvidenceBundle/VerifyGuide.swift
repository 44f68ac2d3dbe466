import Common
import Foundation

/// The bag's own instructions: `verify.sh` runs every check, `VERIFY.md` gives each command
/// so a person can run them one by one.
enum VerifyGuide {
    /// POSIX sh; coreutils and OpenSSL 3 only. `signerKey` verifies the tag manifest: the
    /// gateway's key in a gateway's bag, the server's in the server's.
    static func script(signerKey: String) -> String {
        #"""
#!/bin/sh
# Checks this evidence bundle with POSIX sh, coreutils and OpenSSL 3 alone (see VERIFY.md).
# Exit status 0: every check passed; 1: something is wrong (each failure is named); 2: cannot run.
set -u
signer_key=\#(signerKey)
LC_ALL=C
export LC_ALL
cd "$(dirname "$0")" || exit 2
command -v openssl >/dev/null 2>&1 || { echo "verify.sh needs openssl (OpenSSL 3)"; exit 2; }
command -v sha256sum >/dev/null 2>&1 || { echo "verify.sh needs sha256sum (coreutils)"; exit 2; }

failures=0
fail() { printf 'FAIL: %s\n' "$1"; failures=$((failures + 1)); }
ok() { printf 'ok:   %s\n' "$1"; }
note() { printf '      %s\n' "$1"; }

# 1. Every file is the one listed: the tag files, then the payload (data/).
check_list() {
    [ -f "$1" ] || { fail "$1 is missing"; return; }
    listed=$(sha256sum -c "$1" 2>&1)
    bad=0
    while IFS= read -r line; do
        case $line in
            *": OK") ;;
            *"No such file"*) ;;
            *": FAILED open or read") fail "${line%: FAILED open or read} is missing (listed in $1)"; bad=1 ;;
            *": FAILED") fail "${line%: FAILED} has been changed (its SHA-256 is not the one in $1)"; bad=1 ;;
            *"WARNING"*) ;;
            *) fail "$1: $line"; bad=1 ;;
        esac
    done <<LIST
$listed
LIST
    [ "$bad" -eq 0 ] && ok "every file listed in $1 is intact"
}
check_list tagmanifest-sha256.txt
check_list manifest-sha256.txt

# Payload files not listed in the manifest were added afterwards.
manifest_text=$(cat manifest-sha256.txt 2>/dev/null)
for file in data/items.json data/items/* data/manifests/* data/manifests/*/* data/receipts/* data/keys/* data/keys/gateways/*; do
    [ -f "$file" ] || continue
    case $manifest_text in
        *"  $file"*) ;;
        *) fail "$file is not listed in manifest-sha256.txt (added after the export)" ;;
    esac
done

# 2. Signatures: the exporter's over the tag manifest (and so over everything), each manifest's
#    by the gateway that sent it, each receipt's by the server.
verify_signature() {
    if [ ! -f "$2.sig" ]; then
        fail "$2.sig is missing"
    elif openssl pkeyutl -verify -pubin -inkey "$1" -rawin -in "$2" -sigfile "$2.sig" >/dev/null 2>&1; then
        ok "$2 is signed by the key in $1"
        return 0
    else
        fail "$2: its signature does not verify with the key in $1"
    fi
    return 1
}
verify_signature "$signer_key" tagmanifest-sha256.txt

# A gateway's bag: data/manifests/BATCH.json, its key data/keys/gateway.pem. The server's:
# data/manifests/GATEWAY-ID/BATCH.json, that gateway's key data/keys/gateways/GATEWAY-ID.pem.
good_manifests=""
for manifest in data/manifests/*.json data/manifests/*/*.json; do
    [ -f "$manifest" ] || continue
    folder=${manifest%/*}
    if [ "$folder" = data/manifests ]; then key=data/keys/gateway.pem; else key=data/keys/gateways/${folder##*/}.pem; fi
    if [ ! -f "$key" ]; then
        fail "$manifest: the key that verifies it, $key, is missing"
        continue
    fi
    verify_signature "$key" "$manifest" && good_manifests="$good_manifests $manifest"
done

# 3. Each receipt: signed by the server; a version 2 receipt also names the manifest it answers
#    by its SHA-256 and each item's last custody event in it.
good_receipts=""
for receipt in data/receipts/*.json; do
    [ -f "$receipt" ] || continue
    verify_signature data/keys/server.pem "$receipt" || continue
    text=$(cat "$receipt")
    case $text in
        *'"version":2'*) ;;
        *) note "$receipt is a version 1 receipt: it covers the blobs' hashes and sizes, not their record"
           good_receipts="$good_receipts $receipt"; continue ;;
    esac
    answered=""
    for manifest in $good_manifests; do
        hash=$(sha256sum "$manifest" | cut -c1-64)
        case $text in *"\"manifestSha256\":\"$hash\""*) answered=$manifest ;; esac
    done
    if [ -z "$answered" ]; then
        fail "$receipt answers a manifest that is not in this bundle, or one that was changed"
        continue
    fi
    manifest_body=$(cat "$answered")
    rest=$text
    lost=0
    while :; do
        case $rest in *'"lastCustodyHash":"'*) ;; *) break ;; esac
        rest=${rest#*'"lastCustodyHash":"'}
        event=${rest%%\"*}
        case $manifest_body in
            *"\"hash\":\"$event\""*) ;;
            *) fail "$receipt names custody event $event, which $answered does not hold"; lost=1 ;;
        esac
    done
    [ "$lost" -eq 0 ] && ok "$receipt answers $answered (its metadata and custody)" && good_receipts="$good_receipts $receipt"
done

# 3b. Trusted time: each receipt's RFC 3161 time-stamp (RECEIPT.json.tsr) verified with the
#     time-stamping authority's CA (data/keys/tsa-ca.pem): the receipt existed at that time.
stamped_receipts=""
for receipt in data/receipts/*.json; do
    [ -f "$receipt" ] || continue
    if [ ! -f "$receipt.tsr" ]; then
        note "$receipt has no RFC 3161 time-stamp (the server had no time-stamping authority, or the token was pending at export)"
        continue
    fi
    if [ ! -f data/keys/tsa-ca.pem ]; then
        fail "$receipt.tsr is here but data/keys/tsa-ca.pem, the authority's CA that verifies it, is missing"
    elif openssl ts -verify -data "$receipt" -in "$receipt.tsr" -CAfile data/keys/tsa-ca.pem >/dev/null 2>&1; then
        stamped=$(openssl ts -reply -in "$receipt.tsr" -text 2>/dev/null | sed -n 's/^Time stamp: //p')
        ok "$receipt is time-stamped (RFC 3161) at $stamped by an authority data/keys/tsa-ca.pem certifies"
        stamped_receipts="$stamped_receipts $receipt=$stamped"
    else
        fail "$receipt.tsr: its RFC 3161 time-stamp does not verify over $receipt with data/keys/tsa-ca.pem"
    fi
done

# 4. Each item: its file is named by its SHA-256, and how far its proof goes.
receipted=0
signed=0
exported=0
while IFS= read -r line; do
    hash=${line%% *}
    file=${line#*  }
    case $file in data/items/*) ;; *) continue ;; esac
    name=${file#data/items/}
    name=${name%%.*}
    if [ "$name" != "$hash" ]; then
        fail "$file is not named by its SHA-256 ($hash)"
        continue
    fi
    standing=""
    for receipt in $good_receipts; do
        case $(cat "$receipt") in *"\"sha256\":\"$hash\""*)
            standing="receipted by the server ($receipt)"
            for entry in $stamped_receipts; do
                case $entry in "$receipt="*) standing="$standing, time-stamped at ${entry#*=}" ;; esac
            done
            break ;;
        esac
    done
    if [ -z "$standing" ]; then
        for manifest in $good_manifests; do
            case $(cat "$manifest") in *"\"sha256\":\"$hash\""*) standing="signed by the gateway only ($manifest), not receipted"; break ;; esac
        done
    fi
    case $standing in
        receipted*) receipted=$((receipted + 1)) ;;
        signed*) signed=$((signed + 1)) ;;
        *) standing="not yet sent to the server: covered by the gateway's signature over this bundle only"; exported=$((exported + 1)) ;;
    esac
    printf 'item  %s: %s\n' "$file" "$standing"
done <<ITEMS
$manifest_text
ITEMS

# 5. The keys: compare these fingerprints with the ones the bureau publishes.
if [ -f data/keys/tsa-ca.pem ]; then
    fingerprint=$(openssl x509 -in data/keys/tsa-ca.pem -outform DER 2>/dev/null | sha256sum | cut -c1-64)
    printf 'key   %s: SHA-256 fingerprint %s (the time-stamping authority'"'"'s CA)\n' data/keys/tsa-ca.pem "$fingerprint"
fi
for key in data/keys/*.pem data/keys/gateways/*.pem; do
    [ -f "$key" ] || continue
    [ "$key" = data/keys/tsa-ca.pem ] && continue
    fingerprint=$(openssl pkey -pubin -in "$key" -outform DER 2>/dev/null | sha256sum | cut -c1-64)
    printf 'key   %s: SHA-256 fingerprint %s\n' "$key" "$fingerprint"
done

if [ "$failures" -eq 0 ]; then
    printf 'BUNDLE VERIFIED: %s item file(s): %s receipted by the server, %s signed by the gateway only, %s not yet sent\n' \
        $((receipted + signed + exported)) "$receipted" "$signed" "$exported"
    exit 0
fi
printf 'BUNDLE NOT VERIFIED: %s problem(s) above\n' "$failures"
exit 1
"""#
    }

    static func markdown(context: BagContext, timestampAuthorityFingerprint: String?) -> String {
        var keyLines = context.publicKeys.map { key in
            "    openssl pkey -pubin -in \(key.path) -outform DER | sha256sum   # \(PublicKeyPEM.fingerprint(key.key))"
        }
        if context.serverKey == nil { keyLines.append("    (no server key: the gateway was never enrolled)") }
        let signer = context.signerKeyPath
        let manifestKey: String
        let manifestPath: String
        switch context.exporter {
        case .gateway:
            (manifestKey, manifestPath) = ("data/keys/gateway.pem", "data/manifests/BATCH.json")
        case .server:
            (manifestKey, manifestPath) = ("data/keys/gateways/GATEWAY-ID.pem", "data/manifests/GATEWAY-ID/BATCH.json")
        }
        let signerName = if case .gateway = context.exporter { "gateway's" } else { "evidence server's" }
        return #"""
        # Verifying this evidence bundle

        This folder is a BagIt bag (RFC 8493) exported by \#(context.exporterDescription)
        on \#(Timestamp.string(context.date)), selection: \#(context.selection).
        Every check below needs only a POSIX shell, coreutils and OpenSSL 3. `sh verify.sh`
        runs them all and names each failure; the commands are given here so that each can be
        run by hand. Run them in this folder.

        ## 1. The keys

        Compare these fingerprints with the ones the bureau publishes for its gateways and its
        evidence server (a bundle signed with another key proves nothing):

        \#(keyLines.joined(separator: "\n"))

        ## 2. The \#(signerName) signature over the whole bag

            openssl pkeyutl -verify -pubin -inkey \#(signer) -rawin -in tagmanifest-sha256.txt -sigfile tagmanifest-sha256.txt.sig

        `tagmanifest-sha256.txt` lists the SHA-256 of every tag file, `manifest-sha256.txt`
        among them, which lists the SHA-256 of every file under `data/`:

            sha256sum -c tagmanifest-sha256.txt
            sha256sum -c manifest-sha256.txt

        Archivists' tools read the same files: `bagit.py --validate .`

        ## 3. What the gateway signed and the server receipted

        `\#(manifestPath)` are the batch manifests the gateway signed and sent to the
        server, byte for byte; `data/receipts/*.json` the server's signed receipts. Each has its
        raw 64-byte Ed25519 signature beside it (`.sig`):

            openssl pkeyutl -verify -pubin -inkey \#(manifestKey) -rawin -in \#(manifestPath) -sigfile \#(manifestPath).sig
            openssl pkeyutl -verify -pubin -inkey data/keys/server.pem -rawin -in data/receipts/RECEIPT.json -sigfile data/receipts/RECEIPT.json.sig

        A version 2 receipt (`"version":2`) names the manifest it answers by its SHA-256
        (`manifestSha256`, compare with `sha256sum data/manifests/BATCH.json`) and, per item,
        the hash of its last custody event in that manifest (`lastCustodyHash`): the server
        signed for the recording's metadata (officer, camera, times, flags) and custody, not
        only its bytes. A version 1 receipt covers the hashes and sizes only.

        ## 4. Trusted time

        A receipt with an RFC 3161 time-stamp has it beside it (`data/receipts/RECEIPT.json.tsr`,
        the time-stamping authority's reply over the receipt's bytes). It proves the receipt
        existed at the time it names, by a third party's clock:

            openssl ts -verify -data data/receipts/RECEIPT.json -in data/receipts/RECEIPT.json.tsr -CAfile data/keys/tsa-ca.pem
            openssl ts -reply -in data/receipts/RECEIPT.json.tsr -text        # the time, the authority, the hash stamped

        `data/keys/tsa-ca.pem` is the authority's CA as the server was configured with it;
        compare it with the one the authority publishes:

            openssl x509 -in data/keys/tsa-ca.pem -outform DER | sha256sum   # \#(timestampAuthorityFingerprint ?? "(no time-stamps in this bundle)")

        A receipt without one was issued by a server without an authority, or its token had not
        arrived when the bundle was made.

        ## 5. The items

        `data/items/<sha256>.<ext>` are the files; each is named by its SHA-256, which
        `manifest-sha256.txt` lists and the signed manifests and receipts name. `data/items.json`
        gives each item's metadata and custody events; each event's `hash` is the SHA-256 of
        the previous event's hash, the byte 0x1E, and the event's fields joined by 0x1F (see
        `canonicalContent` in the fieldgate sources), so a changed event breaks every later
        link. An item's `standing` is `receipted` (a server receipt names it),
        `signed-by-gateway` (in a signed manifest, not yet receipted) or `exported-only` (not yet
        sent: only the gateway's signature over this bag covers it).

        `index.html` is a printable account of the same.
        """#
    }
}
