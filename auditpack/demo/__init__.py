"""`auditpack demo`: a fictitious AWS Organization (estate.yaml) built in moto, collected and packaged."""
