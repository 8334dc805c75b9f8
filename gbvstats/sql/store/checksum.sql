-- Order-independent content checksum of one table ({table} comes from the catalog).
SELECT count(*), md5(string_agg(CAST(t AS VARCHAR), chr(10) ORDER BY CAST(t AS VARCHAR)))
FROM "{table}" t
