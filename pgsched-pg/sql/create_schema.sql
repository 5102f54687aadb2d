-- migrate, behind a transaction pooler: the schema the migrations create their tables in.
CREATE SCHEMA IF NOT EXISTS __SCHEMA__
