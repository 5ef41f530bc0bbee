"""Python side of the interoperability tests (tests/interop.rs), on `cryptography`.

Reads request lines on stdin and answers one line each, like Interop.java:
  enc <scheme> <base64 SPKI DER> <publicKeyId> <hex of the UTF-8 identityId> <hex of the UTF-8 password>
      -> base64 ciphertext
  dec <scheme> <base64 PKCS#8 DER> <publicKeyId> <hex of the UTF-8 identityId> <base64 ciphertext>
      -> hex plaintext
or "ERR <exception>". <scheme> is one of the crate's names: pkcs1v15, oaep-sha256,
oaep-sha256-bound.

The publicKeyId is taken from the request, as a client takes it from "query password
info", but first checked against this program's own RFC 7638 thumbprint of the key; the
label of oaep-sha256-bound is built here from the documented recipe, not received.
"""

import base64
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

LABEL_TAG = b"password-mgmt/v1 oaep-label\0"


class KeyIdMismatch(Exception):
    """The request's publicKeyId is not the key's RFC 7638 thumbprint."""


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unsigned(value):
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def thumbprint(public):
    """RFC 7638: SHA-256 of {"e":"…","kty":"RSA","n":"…"}, base64url without padding."""
    numbers = public.public_numbers()
    jwk = '{"e":"%s","kty":"RSA","n":"%s"}' % (b64url(unsigned(numbers.e)), b64url(unsigned(numbers.n)))
    digest = hashes.Hash(hashes.SHA256())
    digest.update(jwk.encode("ascii"))
    return b64url(digest.finalize())


def bound_label(public_key_id, identity_id):
    """The label of oaep-sha256-bound: tag, publicKeyId (43 base64url characters), identityId."""
    return LABEL_TAG + public_key_id.encode("ascii") + identity_id.encode("utf-8")


def scheme(name, public_key_id, identity_id):
    if name == "pkcs1v15":
        return padding.PKCS1v15()
    if name == "oaep-sha256":
        label = None
    elif name == "oaep-sha256-bound":
        label = bound_label(public_key_id, identity_id)
    else:
        raise KeyError(name)
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=label)


def answer(fields):
    op, name, key, public_key_id, identity_hex, data = fields
    identity_id = bytes.fromhex(identity_hex).decode("utf-8")
    if op == "enc":
        public = serialization.load_der_public_key(base64.b64decode(key, validate=True))
        if thumbprint(public) != public_key_id:
            raise KeyIdMismatch(public_key_id)
        padded = scheme(name, public_key_id, identity_id)
        return base64.b64encode(public.encrypt(bytes.fromhex(data), padded)).decode()
    private = serialization.load_der_private_key(base64.b64decode(key, validate=True), password=None)
    if thumbprint(private.public_key()) != public_key_id:
        raise KeyIdMismatch(public_key_id)
    padded = scheme(name, public_key_id, identity_id)
    return private.decrypt(base64.b64decode(data, validate=True), padded).hex()


for line in sys.stdin:
    try:
        print(answer(line.split()), flush=True)
    except Exception as e:  # every failure is reported, never raised
        print("ERR " + type(e).__name__, flush=True)
