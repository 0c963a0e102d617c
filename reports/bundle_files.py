"""The names of the files in an evidence bundle, apart from the code that writes one (Jinja2, the signers), so
that verifying a bundle loads neither."""

PDF_NAME = "packet.pdf"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.p7s"
CHAIN = "signer-chain.pem"
README = "VERIFY.md"
