\timing off
SELECT hash AS h FROM bench_pw \gset
\timing on
SELECT smarthub.verify_password('correct horse battery staple', :'h');
