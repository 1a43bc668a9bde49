"""A software FIDO2 authenticator for tests: what a USB security key and the
browser together send, built with ``cryptography`` and ``cbor2`` (both already
required by ``webauthn``)."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class SoftKey:
    def __init__(self, origin: str = "http://localhost:6543"):
        self.origin = origin
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0

    def _client_data(self, kind: str, options: dict) -> bytes:
        return json.dumps({"type": kind, "challenge": options["challenge"], "origin": self.origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict) -> str:
        """The credential JSON for ``navigator.credentials.create`` options."""
        numbers = self.private_key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})
        auth_data = (hashlib.sha256(options["rp"]["id"].encode()).digest() + b"\x41"
                     + struct.pack(">I", self.sign_count) + b"\x00" * 16
                     + struct.pack(">H", len(self.credential_id)) + self.credential_id + cose)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps({
            "id": b64url(self.credential_id), "rawId": b64url(self.credential_id),
            "type": "public-key", "clientExtensionResults": {},
            "response": {"clientDataJSON": b64url(self._client_data("webauthn.create", options)),
                         "attestationObject": b64url(attestation), "transports": ["usb"]}})

    def get(self, options: dict, rp_id: str = "localhost") -> str:
        """The assertion JSON for ``navigator.credentials.get`` options."""
        self.sign_count += 1
        client_data = self._client_data("webauthn.get", options)
        auth_data = hashlib.sha256(rp_id.encode()).digest() + b"\x01" + struct.pack(">I", self.sign_count)
        signature = self.private_key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                          ec.ECDSA(hashes.SHA256()))
        return json.dumps({
            "id": b64url(self.credential_id), "rawId": b64url(self.credential_id),
            "type": "public-key", "clientExtensionResults": {},
            "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                         "signature": b64url(signature), "userHandle": None}})
