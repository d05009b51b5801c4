-- sign_basic: an authenticated login signs its own domain with every key
--
-- login alice (tenant acme) sends as alice@acme.example: every step up to
-- end of headers is answered CONTINUE, and end of message inserts two
-- DKIM-Signature headers at the top (RSA and Ed25519, d=acme.example)
-- and accepts. run.sh checks the summary line of queue id SIGNBASIC1.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.10")
mail(conn, "<alice@acme.example>", SMFIR_CONTINUE,
    "{auth_authen}", "alice", "i", "SIGNBASIC1")
message_headers(conn, "Alice <alice@acme.example>")
eoh(conn, SMFIR_CONTINUE)
body(conn, "Hello,\r\n")
body(conn, "two body chunks.\r\n")
eom(conn, SMFIR_ACCEPT)
expect_signed(conn, "acme.example", ACME_SIGS)
check(not mt.eom_check(conn, MT_HDRDELETE),
    "a header was deleted although the client sent no control header")
mt.disconnect(conn)
