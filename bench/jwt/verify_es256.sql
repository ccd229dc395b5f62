-- sign.js's ES256 tokens (one key), every claim checked, in one statement. What is measured is the
-- backend's CPU time for that statement (/proc/PID/schedstat, in nanoseconds, appended to the file
-- $JWT_CPU_OUT as "before after"), as openssl speed counts CPU time and not the wall clock: other
-- jobs on the machine then slow neither side. One warm-up call first, outside the measurement.
SELECT smarthub.verify_jwt(token, 'bench-api') IS NOT NULL FROM bench_jwt_asym WHERE alg = 'ES256' LIMIT 1;
SELECT pg_backend_pid() AS pid \gset
\setenv JWT_PID :pid
\! awk '{printf "%s ", $1}' /proc/$JWT_PID/schedstat >> "$JWT_CPU_OUT"
SELECT count(smarthub.verify_jwt(token, 'bench-api')) FROM bench_jwt_asym WHERE alg = 'ES256';
\! awk '{print $1}' /proc/$JWT_PID/schedstat >> "$JWT_CPU_OUT"
