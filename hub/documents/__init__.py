"""Document formats: the PDF layout of the akta and the KK, PAdES signatures, the signed QR
payload (COSE_Sign1 + Base45), the status list (IETF Token Status List) and the published keys.

Pure transformations, like hub/intake: content in, bytes out, or bytes in, a verdict out. Signing
goes through the DocumentSigner port (hub/service/ports.py); nothing here holds a key.
"""
