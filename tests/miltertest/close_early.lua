-- close_early: connections that end before a message is complete
--
-- Each must leave the milter serving: at the end a new connection still
-- signs. run.sh checks that CLOSE4 and CLOSE5 are logged with
-- action=abort and that no message is left "in flight" at stop.
dofile(MT_DIR .. "/_lib.lua")

-- 1. connect to the socket and quit before option negotiation
local conn = connect()
mt.disconnect(conn)

-- 2. negotiate, then quit before the connect information
conn = connect()
check(mt.negotiate(conn, nil, nil, nil) == nil, "mt.negotiate failed")
mt.disconnect(conn)

-- 3. connect information, then quit without any message
conn = open("192.0.2.90")
mt.disconnect(conn)

-- 4. MAIL FROM, then quit mid-transaction (no abort)
conn = open("192.0.2.90")
mail(conn, "<alice@acme.example>", SMFIR_CONTINUE,
    "{auth_authen}", "alice", "i", "CLOSE4")
mt.disconnect(conn)

-- 5. mid-body, then the socket just closes (no abort, no quit)
conn = open("192.0.2.90")
mail(conn, "<alice@acme.example>", SMFIR_CONTINUE,
    "{auth_authen}", "alice", "i", "CLOSE5")
message_headers(conn, "alice@acme.example")
eoh(conn)
body(conn, "half a body\r\n")
mt.disconnect(conn, false)

-- 6. the milter still signs
conn = open("192.0.2.90")
signed_message(conn, "<alice@acme.example>", "alice@acme.example",
    "acme.example", ACME_SIGS, "{auth_authen}", "alice", "i", "CLOSE6")
mt.disconnect(conn)
