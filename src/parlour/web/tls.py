"""The TLS a node speaks when it terminates TLS itself (`server.tls_certificate_file`), rather
than behind the operator's proxy (T-96).

TLS 1.2 and 1.3 only. TLS 1.3's suites are all forward secret and authenticated (AEAD); of TLS
1.2's, only ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 is offered, so no static-RSA key
exchange (no forward secrecy) and no CBC suites (padding oracles). These are the "intermediate"
choices of Mozilla's server-side TLS guidance, which every browser and mobile OS in support meets.
"""

from __future__ import annotations

import ssl
from pathlib import Path

TLS12_SUITES = "ECDHE+AESGCM:ECDHE+CHACHA20"


def server_context(certificate: Path, key: Path | None = None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_SUITES)
    # No compression (CRIME), no renegotiation (a client-driven CPU sink); our suite order wins.
    context.options |= (
        ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION | ssl.OP_CIPHER_SERVER_PREFERENCE
    )
    context.load_cert_chain(certificate, key)
    return context
