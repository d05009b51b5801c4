-- _sigterm_inflight: SIGTERM arrives while a message is half sent; the
-- message still completes and is signed before the milter exits.
-- Run by run.sh at the very end (it stops the shared milter), with
-- -D MILTER_PID=<pid>.
dofile(MT_DIR .. "/_lib.lua")

local conn = open("192.0.2.99")
mail(conn, "<alice@acme.example>", SMFIR_CONTINUE,
    "{auth_authen}", "alice", "i", "INFLIGHT1")
rcpt(conn)
header(conn, "From", "alice@acme.example")
header(conn, "Subject", "in flight")
eoh(conn)
body(conn, "first half\r\n")
check(os.execute("kill -TERM " .. MILTER_PID), "kill -TERM failed")
os.execute("sleep 1")
body(conn, "second half\r\n")
eom(conn, SMFIR_ACCEPT)
expect_signed(conn, "acme.example", ACME_SIGS)
mt.disconnect(conn)
