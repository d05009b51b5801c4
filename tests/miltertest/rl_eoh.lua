-- rl_eoh: a limit on the From domain is checked at end of headers
--
-- Tenant epsilon (login erin): messages "1/1h" per from_domain. Message 1
-- is accepted; message 2 passes RCPT (the From domain is not known yet)
-- and gets 451 4.7.1 at end of headers.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.62")
local function msg(qid, want)
	mail(conn, "<erin@epsilon.example>", SMFIR_CONTINUE,
	    "{auth_authen}", "erin", "i", qid)
	rcpt(conn, "<x@dest.example>")
	rcpt(conn, "<y@dest.example>")
	headers(conn, { { "From", "erin@epsilon.example" } })
	eoh(conn, want)
end

msg("RLEOH1", SMFIR_CONTINUE)
body(conn, "one\r\n")
eom(conn, SMFIR_ACCEPT)
msg("RLEOH2", SMFIR_REPLYCODE)
mt.disconnect(conn)
