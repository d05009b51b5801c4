-- rl_refund: only accepted mail spends a budget
--
-- Tenant delta (login dave): messages "1/1h" per login. Message 1 takes
-- the token at RCPT and is aborted (RSET): the token comes back. Message
-- 2 takes it and is rejected at end of headers (From of another tenant):
-- it comes back again. Message 3 is accepted and spends it; message 4 is
-- refused at RCPT.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.61")
local function start(qid, want)
	mail(conn, "<dave@delta.example>", SMFIR_CONTINUE,
	    "{auth_authen}", "dave", "i", qid)
	rcpt(conn, "<x@dest.example>", want)
end

start("RLREF1")
headers(conn, { { "From", "dave@delta.example" } })
check(mt.abort(conn) == nil, "mt.abort failed")

start("RLREF2")
headers(conn, { { "From", "dave@acme.example" } })
eoh(conn, SMFIR_REPLYCODE)

start("RLREF3")
headers(conn, { { "From", "dave@delta.example" }, { "Subject", "3" } })
eoh(conn)
body(conn, "three\r\n")
eom(conn, SMFIR_ACCEPT)
expect_signed(conn, "delta.example", BETA_SIGS)

start("RLREF4", SMFIR_REPLYCODE)
mt.disconnect(conn)
