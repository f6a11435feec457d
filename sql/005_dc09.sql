-- SIA DC-09 identities of terminals (contract §9, docs/dc09.md). A panel is
-- known by its account number, optionally tied to a receiver and line number
-- ('' = any). The AES key is stored for the receiver only: no API reads this
-- column.

CREATE TABLE terminal_dc09 (
    terminal_id  text PRIMARY KEY REFERENCES terminals(id) ON DELETE CASCADE,
    account      text NOT NULL CHECK (account ~ '^[0-9A-F]{3,16}$'),
    receiver     text NOT NULL DEFAULT '' CHECK (receiver ~ '^(R[0-9A-Fa-f]{1,6})?$'),
    line         text NOT NULL DEFAULT '' CHECK (line ~ '^(L[0-9A-Fa-f]{1,6})?$'),
    key_hex      text NOT NULL DEFAULT ''
                 CHECK (key_hex ~ '^([0-9A-F]{32}|[0-9A-F]{48}|[0-9A-F]{64})?$'),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account, receiver, line)
);
