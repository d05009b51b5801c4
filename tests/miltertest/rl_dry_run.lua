-- rl_dry_run: a dry-run limit logs what it would refuse and refuses nothing
--
-- Tenant zeta (login zed): messages "1/1h" per tenant, dry_run. Both
-- messages are accepted; run.sh checks the dry-run log line of RLDRY2.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.63")
for _, qid in ipairs({ "RLDRY1", "RLDRY2" }) do
	mail(conn, "<zed@zeta.example>", SMFIR_CONTINUE,
	    "{auth_authen}", "zed", "i", qid)
	rcpt(conn, "<x@dest.example>")
	headers(conn, { { "From", "zed@zeta.example" } })
	eoh(conn)
	body(conn, "dry\r\n")
	eom(conn, SMFIR_ACCEPT)
end
mt.disconnect(conn)
