-- missing_macros: no {auth_authen} and no {i} from the MTA
--
-- 1. external client 192.0.2.1, no macro at all: not outbound, so the
--    message is passed untouched (with milter.strip_inbound, the
--    default, ACCEPT at end of headers: it had no control header).
-- 2. internal client 127.0.0.1, no login, From acme.example: the tenant
--    is the owner of the From domain, so it is signed.
-- 3. internal client, {i} only sent at end of message (SMFIC_BODYEOB
--    macros): still signed; run.sh checks that the summary line starts
--    with that queue id (LATEQID4).
dofile(MT_DIR .. "/_lib.lua")

-- 1
local conn = open("192.0.2.1")
mail(conn, "<someone@elsewhere.example>", SMFIR_CONTINUE)
message_headers(conn, "someone@elsewhere.example", "inbound")
eoh(conn, SMFIR_ACCEPT)
mt.disconnect(conn)

-- 1b: an external client is passed even when its From is a tenant's
conn = open("192.0.2.1")
mail(conn, "<alice@acme.example>", SMFIR_CONTINUE)
message_headers(conn, "alice@acme.example", "inbound, a tenant's From")
eoh(conn, SMFIR_ACCEPT)
mt.disconnect(conn)

-- 2
conn = open("127.0.0.1", "localhost")
signed_message(conn, "<app@acme.example>", "App <app@acme.example>",
    "acme.example", ACME_SIGS)
mt.disconnect(conn)

-- 2b: a subdomain of acme.example (subdomains = true) from inside
conn = open("127.0.0.1", "localhost")
signed_message(conn, "<app@mail.acme.example>", "app@mail.acme.example",
    "acme.example", ACME_SIGS)
mt.disconnect(conn)

-- 3
conn = open("127.0.0.1", "localhost")
mail(conn, "<app@acme.example>", SMFIR_CONTINUE)
message_headers(conn, "app@acme.example", "queue id at end of message")
eoh(conn)
body(conn, "late queue id\r\n")
check(mt.macro(conn, SMFIC_BODYEOB, "i", "LATEQID4") == nil,
    "mt.macro(SMFIC_BODYEOB) failed")
eom(conn, SMFIR_ACCEPT)
expect_signed(conn, "acme.example", ACME_SIGS)
mt.disconnect(conn)
