-- abort_mid_body: the MTA aborts a message after some body chunks; the
-- next message on the same connection is signed normally. run.sh checks
-- that the aborted message (ABORT1) is logged with action=abort.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.30")
mail(conn, "<alice@acme.example>", SMFIR_CONTINUE,
    "{auth_authen}", "alice", "i", "ABORT1")
message_headers(conn, "alice@acme.example", "to be aborted")
eoh(conn)
body(conn, "first chunk\r\n")
body(conn, "second chunk\r\n")
check(mt.abort(conn) == nil, "mt.abort failed")

-- a different tenant after the abort: nothing of message 1 may leak in
signed_message(conn, "<bob@beta.example>", "bob@beta.example",
    "beta.example", BETA_SIGS, "{auth_authen}", "bob", "i", "ABORT2")

-- and the first tenant again, on the same connection
signed_message(conn, "<alice@acme.example>", "alice@acme.example",
    "acme.example", ACME_SIGS, "{auth_authen}", "alice", "i", "ABORT3")
mt.disconnect(conn)
