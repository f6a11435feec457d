-- Security hardening (issue #8), the API side.
--
-- Contract 1.1: "A token with no districts cannot be created" for the
-- education role; an empty list must never mean "every district". NOT VALID:
-- tokens created before this migration are not rejected here (the server
-- treats their empty list as "nothing" since this version); every token
-- inserted or updated from now on is checked.
ALTER TABLE api_tokens
    ADD CONSTRAINT api_tokens_education_has_districts
    CHECK (role <> 'education'
           OR (districts IS NOT NULL AND cardinality(districts) > 0
               AND array_position(districts, NULL) IS NULL
               AND array_position(districts, '') IS NULL))
    NOT VALID;
