"""Framework catalogs (HIPAA, PCI DSS, SOC 2, user catalogs) and control evaluation.

Entry points: `loader.load_catalogs`, `evaluate.evaluate_framework`, `asof.status_as_of`, `coverage.coverage`,
`render.status_to_dict`. Results follow the contract in `results`; catalogs follow `schema`.
"""
