-- two_messages: two complete messages on one connection, different logins
--
-- Message 1: login alice, From acme.example -> two signatures (acme).
-- Message 2 on the same connection: login bob, From beta.example -> one
-- signature (beta), nothing left over from message 1.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.20")
signed_message(conn, "<alice@acme.example>", "alice@acme.example",
    "acme.example", ACME_SIGS, "{auth_authen}", "alice", "i", "TWOMSG1")
signed_message(conn, "<bob@beta.example>", "Bob <bob@beta.example>",
    "beta.example", BETA_SIGS, "{auth_authen}", "bob", "i", "TWOMSG2")
mt.disconnect(conn)
