-- Rollup sums that stop at the largest BIGINT instead of failing: an overflowing bucket
-- would otherwise fail every later commit that touches it, taking ingest down with it.
CREATE FUNCTION sat_add(a BIGINT, b BIGINT) RETURNS BIGINT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN LEAST(a::NUMERIC + b::NUMERIC, 9223372036854775807)::BIGINT;
