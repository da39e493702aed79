-- sl_hist_merge as one pass over two key-sorted arrays (issue 15). The SQL version of 0005
-- unnested, grouped and re-aggregated both arrays on every call: each ingest commit runs it
-- twice per (hour, user) row, and it was the largest single cost the wider user hours added.
-- This one is about twice as fast on rollup-sized histograms.
--
-- Both inputs are sorted by key (Histogram::to_packed writes them so, and this function keeps
-- them so). Equal keys are added while the count fits in 32 bits; otherwise both elements
-- stay, as every reader adds up repeated keys. (0005's version let such a count spill into
-- the key bits.) Unsorted input still loses no count, it is only less compact.
CREATE OR REPLACE FUNCTION sl_hist_merge(a BIGINT[], b BIGINT[]) RETURNS BIGINT[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    r  BIGINT[] := '{}';
    na INT := coalesce(cardinality(a), 0);
    nb INT := coalesce(cardinality(b), 0);
    i  INT := 1;
    j  INT := 1;
    x  BIGINT;
    y  BIGINT;
BEGIN
    IF nb = 0 THEN RETURN coalesce(a, '{}'); END IF;
    IF na = 0 THEN RETURN b; END IF;
    WHILE i <= na AND j <= nb LOOP
        x := a[i];
        y := b[j];
        IF x >> 32 < y >> 32 THEN
            r := array_append(r, x);
            i := i + 1;
        ELSIF x >> 32 > y >> 32 THEN
            r := array_append(r, y);
            j := j + 1;
        ELSIF (x & 4294967295) + (y & 4294967295) <= 4294967295 THEN
            r := array_append(r, x + (y & 4294967295));
            i := i + 1;
            j := j + 1;
        ELSE
            r := array_append(r, x);
            i := i + 1;
        END IF;
    END LOOP;
    RETURN r || a[i:na] || b[j:nb];
END $$;
