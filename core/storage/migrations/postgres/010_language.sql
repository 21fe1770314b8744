-- Twinome schema, version 10: languages.
ALTER TABLE members ADD COLUMN language TEXT;
ALTER TABLE members ADD COLUMN locale TEXT;
ALTER TABLE trios ADD COLUMN language TEXT;
