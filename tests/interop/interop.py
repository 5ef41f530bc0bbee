"""Python side of the interoperability tests (tests/interop.rs), on `cryptography`.

Reads request lines on stdin and answers one line each, like Interop.java:
  enc pkcs1|oaep <base64 SPKI DER> <hex of the UTF-8 password>  -> base64 ciphertext
  dec pkcs1|oaep <base64 PKCS#8 DER> <base64 ciphertext>        -> hex plaintext
or "ERR <exception>".
"""

import base64
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


def scheme(name):
    if name == "pkcs1":
        return padding.PKCS1v15()
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def answer(fields):
    op, name, key, data = fields
    if op == "enc":
        public = serialization.load_der_public_key(base64.b64decode(key, validate=True))
        return base64.b64encode(public.encrypt(bytes.fromhex(data), scheme(name))).decode()
    private = serialization.load_der_private_key(base64.b64decode(key, validate=True), password=None)
    return private.decrypt(base64.b64decode(data, validate=True), scheme(name)).hex()


for line in sys.stdin:
    try:
        print(answer(line.split()), flush=True)
    except Exception as e:  # every failure is reported, never raised
        print("ERR " + type(e).__name__, flush=True)
