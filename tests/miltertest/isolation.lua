-- isolation: a login may only use its own tenant's domains
--
-- login bob (beta) with From acme.example -> reject at end of headers;
-- login bob with MAIL FROM <x@acme.example> -> reject at MAIL FROM;
-- unknown login mallory -> reject at MAIL FROM.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.60")
mail(conn, "<bob@beta.example>", SMFIR_CONTINUE,
    "{auth_authen}", "bob", "i", "ISO1")
message_headers(conn, "Alice <alice@acme.example>")
eoh(conn, SMFIR_REPLYCODE)
mt.disconnect(conn)

conn = open("192.0.2.60")
mail(conn, "<x@acme.example>", SMFIR_REPLYCODE,
    "{auth_authen}", "bob", "i", "ISO2")
-- a new transaction on the same connection still works for bob
signed_message(conn, "<bob@beta.example>", "bob@beta.example",
    "beta.example", BETA_SIGS, "{auth_authen}", "bob", "i", "ISO3")
mt.disconnect(conn)

conn = open("192.0.2.60")
mail(conn, "<mallory@beta.example>", SMFIR_REPLYCODE,
    "{auth_authen}", "mallory", "i", "ISO4")
mt.disconnect(conn)

-- an unknown login is refused even from an internal address
conn = open("127.0.0.1", "localhost")
mail(conn, "<mallory@acme.example>", SMFIR_REPLYCODE,
    "{auth_authen}", "mallory", "i", "ISO5")
mt.disconnect(conn)

-- "*@acme.example" matches a login in acme.example only
conn = open("192.0.2.60")
mail(conn, "<carol@acme.example>", SMFIR_REPLYCODE,
    "{auth_authen}", "carol@notacme.example", "i", "ISO6")
signed_message(conn, "<carol@acme.example>", "carol@acme.example",
    "acme.example", ACME_SIGS, "{auth_authen}", "carol@acme.example",
    "i", "ISO7")
mt.disconnect(conn)
