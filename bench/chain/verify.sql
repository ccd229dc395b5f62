-- smarthub's verification of the whole chain.
\timing on
SELECT ok, blocks, rows FROM smarthub.audit_verify();
