\timing on
SELECT length(smarthub.hash_password('correct horse battery staple', 12));
