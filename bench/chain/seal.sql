-- One seal of every unsealed row (what the background worker does each second, here all at once).
\timing on
SELECT smarthub.audit_seal();
