-- Twinome schema, version 14: the check of a transaction sent as one statement (a plan,
-- see core/storage/postgres.py): it raises unless what the plan relied on holds, so that
-- the statement writes nothing (SQLSTATE TW001).
CREATE FUNCTION twinome_expect(ok BOOLEAN) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'what a plan relied on has changed' USING ERRCODE = 'TW001';
    END IF;
    RETURN TRUE;
END
$$;
