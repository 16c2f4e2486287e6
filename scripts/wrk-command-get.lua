-- wrk script for bench-peers.sh: POST /db/0/command with {"command":["GET","k"]}.
wrk.method = "POST"
wrk.body = '{"command":["GET","k"]}'
wrk.headers["Content-Type"] = "application/json"
