// IPFIX (RFC 7011) encoding and decoding.
