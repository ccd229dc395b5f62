\timing off
SELECT hash AS h FROM bench_pw \gset
\timing on
SELECT public.crypt('correct horse battery staple', :'h') = :'h';
