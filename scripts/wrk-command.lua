-- wrk script for bench-http.sh: POST /db/0/command with {"command":["PING"]}.
wrk.method = "POST"
wrk.body = '{"command":["PING"]}'
wrk.headers["Content-Type"] = "application/json"
