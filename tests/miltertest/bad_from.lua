-- bad_from: the From header must be one header with one parseable address
--
-- Each case is its own message on one connection from login alice; every
-- one is refused with a 5xx reply (SMFIR_REPLYCODE) at end of headers.
dofile(MT_DIR .. "/_lib.lua")

local cases = {
	{ "no From header", {} },
	{ "two From headers", { "alice@acme.example", "alice@acme.example" } },
	{ "two addresses", { "alice@acme.example, bob@acme.example" } },
	{ "unparseable", { "<<<" } },
	{ "empty group", { "undisclosed:;" } },
	{ "no domain", { "<alice>" } },
}

local conn = open("192.0.2.70")
for n, c in ipairs(cases) do
	mail(conn, "<alice@acme.example>", SMFIR_CONTINUE,
	    "{auth_authen}", "alice", "i", "BADFROM" .. n)
	rcpt(conn)
	for _, v in ipairs(c[2]) do
		header(conn, "From", v)
	end
	header(conn, "To", "<rcpt@dest.example>")
	header(conn, "Subject", "bad From: " .. c[1])
	eoh(conn, SMFIR_REPLYCODE)
end

-- after all that, a good message on the same connection is signed
signed_message(conn, "<alice@acme.example>", "alice@acme.example",
    "acme.example", ACME_SIGS, "{auth_authen}", "alice", "i", "BADFROM9")
mt.disconnect(conn)
