import warnings

# pyHanko imports cryptography's DSA key type, which recent cryptography releases deprecate on import: without this
# every `auditpack verify`, packet build and API worker printed a CryptographyDeprecationWarning about a key type
# auditpack never uses. Only that warning, only where pyHanko triggers it.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"pyhanko(\.|$)")
