-- Twinome schema, version 10: languages. A member's language is the one they chose
-- (`language fr`), else the one their platform last said they use (a Discord
-- interaction's locale), else the bot's default. A trio's language is agreed like its
-- other settings; it starts as the language of whoever started the trio.
ALTER TABLE members ADD COLUMN language TEXT;
ALTER TABLE members ADD COLUMN locale TEXT;
ALTER TABLE trios ADD COLUMN language TEXT;
