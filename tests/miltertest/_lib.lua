-- _lib.lua - helpers shared by the miltertest scenarios (not a scenario:
-- run.sh skips files whose name starts with "_").
--
-- Loaded by every scenario with
--	dofile(MT_DIR .. "/_lib.lua")
-- Globals expected from run.sh (miltertest -D name=value): SOCKET
-- ("unix:/path"), MT_DIR, ACME_RSA_SEL, ACME_ED_SEL, BETA_SEL.
--
-- Every helper fails through fail(): it prints "FAIL: " with a message
-- naming the step and what differed, and a Lua traceback (file:line),
-- then raises error() so miltertest exits 1; run.sh shows that output.

for _, v in ipairs({ "SOCKET", "MT_DIR", "ACME_RSA_SEL", "ACME_ED_SEL",
    "BETA_SEL" }) do
	if _G[v] == nil then
		print("FAIL: run me from run.sh: -D " .. v .. "=... is missing")
		error(v .. " is not defined", 0)
	end
end

-- SMFIC_BODYEOB ('E') is not exported by miltertest; macros of that type
-- are the ones the MTA sends at end of message.
SMFIC_BODYEOB = SMFIC_BODYEOB or string.byte("E")

local reply_names = {
	[SMFIR_CONTINUE] = "SMFIR_CONTINUE", [SMFIR_ACCEPT] = "SMFIR_ACCEPT",
	[SMFIR_REJECT] = "SMFIR_REJECT", [SMFIR_TEMPFAIL] = "SMFIR_TEMPFAIL",
	[SMFIR_DISCARD] = "SMFIR_DISCARD",
	[SMFIR_REPLYCODE] = "SMFIR_REPLYCODE",
}

function reply_name(r)
	if r == nil then return "nil" end
	if reply_names[r] then return reply_names[r] end
	if r == 0 then return "no reply" end
	return string.format("reply '%s' (%d)", string.char(r), r)
end

-- fail(msg): print the message and where it happened, then stop the
-- script (miltertest itself exits 1 without printing Lua errors)
function fail(msg)
	print("FAIL: " .. debug.traceback(msg, 2))
	error(msg, 0)
end

-- check(cond, fmt, ...): fail with a formatted message unless cond
function check(cond, fmt, ...)
	if not cond then
		fail(string.format(fmt, ...))
	end
end

-- ok(what, rc): an mt.* call that returns nil on success
local function ok(what, rc)
	if rc ~= nil then
		fail(what .. " failed: " .. tostring(rc))
	end
end

-- expect(conn, want, what): the last reply must be want
function expect(conn, want, what)
	local got = mt.getreply(conn)
	if got ~= want then
		fail(string.format("%s: expected %s, got %s", what,
		    reply_name(want), reply_name(got)))
	end
end

-- connect(): a new connection to the milter, nothing sent yet
function connect()
	local done, conn = pcall(mt.connect, SOCKET, 20, 0.25)
	check(done and conn ~= nil, "mt.connect(%s) failed: %s", SOCKET,
	    tostring(conn))
	return conn
end

-- open(ip, host): a negotiated connection from client ip, answered
-- CONTINUE, with the milter asking to add and change headers
function open(ip, host)
	local conn = connect()
	ok("mt.conninfo(" .. ip .. ")", mt.conninfo(conn, host or
	    "client.example", ip))
	expect(conn, SMFIR_CONTINUE, "connect from " .. ip)
	check(mt.test_action(conn, SMFIF_ADDHDRS),
	    "the milter did not ask for SMFIF_ADDHDRS")
	check(mt.test_action(conn, SMFIF_CHGHDRS),
	    "the milter did not ask for SMFIF_CHGHDRS")
	return conn
end

-- mail(conn, sender, want, macros...): MAIL FROM with SMFIC_MAIL
-- macros given as name, value pairs (none: no macro command at all)
function mail(conn, sender, want, ...)
	if select("#", ...) > 0 then
		ok("mt.macro(SMFIC_MAIL)", mt.macro(conn, SMFIC_MAIL, ...))
	end
	ok("mt.mailfrom(" .. sender .. ")", mt.mailfrom(conn, sender))
	expect(conn, want, "MAIL FROM:" .. sender)
end

function rcpt(conn, recipient, want)
	ok("mt.rcptto", mt.rcptto(conn, recipient or "<rcpt@dest.example>"))
	expect(conn, want or SMFIR_CONTINUE, "RCPT TO")
end

-- header(conn, name, value, want): one header; the value is sent with
-- its leading space, as an MTA does when SMFIP_HDR_LEADSPC is agreed
function header(conn, name, value, want)
	ok("mt.header(" .. name .. ")", mt.header(conn, name, " " .. value))
	expect(conn, want or SMFIR_CONTINUE, "header " .. name .. ": " .. value)
end

-- headers(conn, list): { {name, value}, ... }, each answered CONTINUE
function headers(conn, list)
	for _, h in ipairs(list) do
		header(conn, h[1], h[2])
	end
end

-- eoh(conn, want): end of headers. When the milter asked not to answer
-- it (SMFIP_NR_EOH, on unix sockets), a refusal of the headers comes at
-- end of message, as the MTA would see it: the body is skipped then.
function eoh(conn, want)
	ok("mt.eoh", mt.eoh(conn))
	want = want or SMFIR_CONTINUE
	if want ~= SMFIR_CONTINUE and mt.test_option(conn, SMFIP_NR_EOH) then
		ok("mt.eom", mt.eom(conn))
	end
	expect(conn, want, "end of headers")
end

function body(conn, text, want)
	ok("mt.bodystring", mt.bodystring(conn, text))
	expect(conn, want or SMFIR_CONTINUE, "body chunk")
end

function eom(conn, want)
	ok("mt.eom", mt.eom(conn))
	expect(conn, want or SMFIR_ACCEPT, "end of message")
end

-- signatures(conn): the DKIM-Signature values inserted at end of message
function signatures(conn)
	local sigs, i = {}, 0
	while true do
		local v = mt.getheader(conn, "DKIM-Signature", i)
		if v == nil then break end
		sigs[#sigs + 1] = v
		i = i + 1
	end
	return sigs
end

local function tag(sig, name)
	local flat = sig:gsub("[\r\n\t ]", "")
	return flat:match("^" .. name .. "=([^;]*)") or
	    flat:match(";" .. name .. "=([^;]*)")
end

-- expect_signed(conn, domain, {{selector, alg}, ...}): exactly these
-- signatures were inserted at the top (index 0), none appended
function expect_signed(conn, domain, want)
	local sigs = signatures(conn)
	check(mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature"),
	    "no DKIM-Signature inserted at end of message")
	check(not mt.eom_check(conn, MT_HDRADD),
	    "a header was appended (smfi_addheader) instead of inserted")
	local got = {}
	for _, s in ipairs(sigs) do
		got[#got + 1] = "d=" .. tostring(tag(s, "d")) .. " s=" ..
		    tostring(tag(s, "s"))
	end
	check(#sigs == #want, "expected %d DKIM-Signature insert(s) for " ..
	    "d=%s, got %d: %s", #want, domain, #sigs, table.concat(got, ", "))
	for _, w in ipairs(want) do
		local found = false
		for _, s in ipairs(sigs) do
			if tag(s, "s") == w[1] then
				found = true
				check(tag(s, "d") == domain,
				    "signature s=%s: expected d=%s, got d=%s",
				    w[1], domain, tostring(tag(s, "d")))
				check(tag(s, "a") == w[2],
				    "signature s=%s: expected a=%s, got a=%s",
				    w[1], w[2], tostring(tag(s, "a")))
				check(tag(s, "b") ~= nil and #tag(s, "b") > 40,
				    "signature s=%s has no b= value", w[1])
				check(tag(s, "h") ~= nil and
				    tag(s, "h"):lower():find("from", 1, true),
				    "signature s=%s does not sign From", w[1])
				check(mt.eom_check(conn, MT_HDRINSERT,
				    "DKIM-Signature", s, 0),
				    "signature s=%s not inserted at index 0", w[1])
			end
		end
		check(found, "no signature with s=%s among %d inserted", w[1],
		    #sigs)
	end
end

ACME_SIGS = { { ACME_RSA_SEL, "rsa-sha256" },
    { ACME_ED_SEL, "ed25519-sha256" } }
BETA_SIGS = { { BETA_SEL, "rsa-sha256" } }

-- message_headers(conn, from_hdr, subject): after MAIL FROM, one RCPT
-- and the headers From, To, Subject, Date, Message-ID (each CONTINUE)
function message_headers(conn, from_hdr, subject)
	rcpt(conn)
	headers(conn, {
		{ "From", from_hdr },
		{ "To", "<rcpt@dest.example>" },
		{ "Subject", subject or "protocol test" },
		{ "Date", "Sat, 22 Nov 2025 12:00:00 +0000" },
		{ "Message-ID", "<" .. tostring(os.time()) ..
		    math.random(1000000) .. "@test.example>" },
	})
end

-- signed_message(conn, sender, from_hdr, domain, sigs, macros...): one
-- complete message (SMFIC_MAIL macros as name, value pairs) expected to
-- be accepted and signed for domain with exactly sigs
function signed_message(conn, sender, from_hdr, domain, sigs, ...)
	mail(conn, sender, SMFIR_CONTINUE, ...)
	message_headers(conn, from_hdr)
	eoh(conn)
	body(conn, "Hello,\r\n\r\nthis is a test.\r\n")
	eom(conn, SMFIR_ACCEPT)
	expect_signed(conn, domain, sigs)
end
