-- tenant_network: a tenant's network (beta: 10.9.0.0/16) without login
--
-- From beta.example is signed for beta; From acme.example from the same
-- network is refused with a 5xx reply at end of headers.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("10.9.1.2")
signed_message(conn, "<app@beta.example>", "app@beta.example",
    "beta.example", BETA_SIGS, "i", "NET1")

-- second message, same connection: From of another tenant
mail(conn, "<app@beta.example>", SMFIR_CONTINUE, "i", "NET2")
message_headers(conn, "Mallory <ceo@acme.example>")
eoh(conn, SMFIR_REPLYCODE)
mt.disconnect(conn)

-- the envelope sender must be beta's too
conn = open("10.9.200.7")
mail(conn, "<app@acme.example>", SMFIR_REPLYCODE, "i", "NET3")
mt.disconnect(conn)
