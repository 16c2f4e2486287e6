-- wrk script for bench-peers.sh: POST /db/0/pipeline with 10 commands,
-- GET k ten times ({"commands":[["GET","k"], ...]}).
local cmds = {}
for i = 1, 10 do cmds[i] = '["GET","k"]' end
wrk.method = "POST"
wrk.body = '{"commands":[' .. table.concat(cmds, ",") .. ']}'
wrk.headers["Content-Type"] = "application/json"
