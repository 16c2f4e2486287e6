// Command sdkgo is a program written against the Go client that
// oapi-codegen v2 generates from the gateway's /openapi.json (into gen/,
// by e2e.TestOapiCodegen, which then builds and runs it). Every call goes
// through the generated types: a reply the spec describes wrongly is a
// decode error here, as it would be in a user's program.
//
// Usage: GATEWAY_URL=http://127.0.0.1:PORT TOKEN=… go run .
package main

import (
	"context"
	"fmt"
	"os"
	"reflect"

	"github.com/oapi-codegen/oapi-codegen/v2/pkg/securityprovider"

	"github.com/redis-gateway/redis-gateway/e2e/sdkgo/gen"
)

var failures int

// check records one outcome; err is a transport or decode error.
func check(name string, err error, ok bool, detail any) {
	switch {
	case err != nil:
		failures++
		fmt.Printf("FAIL %s: %v\n", name, err)
	case !ok:
		failures++
		fmt.Printf("FAIL %s: %+v\n", name, detail)
	default:
		fmt.Printf("ok   %s\n", name)
	}
}

func ptr[T any](v T) *T { return &v }

func main() {
	url, token := os.Getenv("GATEWAY_URL"), os.Getenv("TOKEN")
	if url == "" || token == "" {
		fmt.Println("GATEWAY_URL and TOKEN must be set")
		os.Exit(2)
	}
	bearer, err := securityprovider.NewSecurityProviderBearerToken(token)
	if err != nil {
		panic(err)
	}
	c, err := gen.NewClientWithResponses(url, gen.WithRequestEditorFn(bearer.Intercept))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	const db = "0"
	prefix := fmt.Sprintf("sdkgo:%d:", os.Getpid())

	// The token goes through the generated security scheme; without it
	// the 401 is a typed problem.
	anon, err := gen.NewClientWithResponses(url)
	if err != nil {
		panic(err)
	}
	unauth, err := anon.GetDBSizeWithResponse(ctx, db)
	check("401 without the token", err, err == nil && unauth.ApplicationproblemJSON401 != nil && code(unauth.ApplicationproblemJSON401.Code) == "UNAUTHORIZED", unauth)

	// Odd keys round-trip: the client escapes the path segment.
	for _, k := range []string{"dir/naïve✓", "100%", "q?x#y", "sp ace+plus"} {
		key := prefix + k
		set, err := c.SetStringWithResponse(ctx, db, key, nil, gen.SetStringJSONRequestBody{Value: "v:" + k})
		check("setString "+k, err, err == nil && set.JSON200 != nil && set.JSON200.Set, set)
		got, err := c.GetStringWithResponse(ctx, db, key, nil)
		check("getString "+k, err, err == nil && got.JSON200 != nil && got.JSON200.Value == "v:"+k, got)
		exists, err := c.RunCommandWithResponse(ctx, db, nil, gen.RunCommandJSONRequestBody{Command: []string{"EXISTS", key}})
		check("the key is exactly "+k, err, err == nil && exists.JSON200 != nil && exists.JSON200.Result == float64(1), exists)
	}

	// Hash.
	hkey := prefix + "hash"
	hset, err := c.SetHashWithResponse(ctx, db, hkey, nil, gen.SetHashJSONRequestBody{Fields: map[string]string{"name": "Ada", "lang": "en"}})
	check("setHash", err, err == nil && hset.JSON200 != nil, hset)
	hget, err := c.GetHashWithResponse(ctx, db, hkey, nil)
	check("getHash", err, err == nil && hget.JSON200 != nil && hget.JSON200.Fields["name"] == "Ada", hget)

	// Sorted set with an infinite score and a score that float32 would round.
	zkey := prefix + "zset"
	var fine, inf gen.ScoreInput
	if err := fine.FromScoreInput0(1234567.891); err != nil {
		panic(err)
	}
	if err := inf.FromScoreInput1(gen.ScoreInput1PlusInf); err != nil {
		panic(err)
	}
	zadd, err := c.AddZsetMembersWithResponse(ctx, db, zkey, nil, gen.AddZsetMembersJSONRequestBody{Members: []gen.ZAddMember{{Member: "fine", Score: fine}, {Member: "top", Score: inf}}})
	check("addZsetMembers with +inf", err, err == nil && zadd.JSON200 != nil, zadd)
	zr, err := c.ZrangeMembersWithResponse(ctx, db, zkey, &gen.ZrangeMembersParams{Withscores: ptr(true)})
	ok := false
	if err == nil && zr.JSON200 != nil {
		ms, aerr := zr.JSON200.Members.AsScoredMembers()
		if aerr == nil && len(ms) == 2 {
			f, e1 := ms[0].Score.AsScore0()
			s, e2 := ms[1].Score.AsScore1()
			ok = e1 == nil && e2 == nil && ms[0].Member == "fine" && f == 1234567.891 && ms[1].Member == "top" && s == gen.Score1Inf
		}
	}
	check("zrangeMembers withscores (inf as a string, doubles exact)", err, ok, zr)
	zr, err = c.ZrangeMembersWithResponse(ctx, db, zkey, &gen.ZrangeMembersParams{Withscores: ptr(false)})
	ok = false
	if err == nil && zr.JSON200 != nil {
		ms, aerr := zr.JSON200.Members.AsPlainMembers()
		ok = aerr == nil && reflect.DeepEqual(ms, gen.PlainMembers{"fine", "top"})
	}
	check("zrangeMembers withscores=false", err, ok, zr)
	zm, err := c.GetZsetMemberWithResponse(ctx, db, zkey, "top", nil)
	ok = false
	if err == nil && zm.JSON200 != nil {
		s, aerr := zm.JSON200.Score.AsScore1()
		ok = aerr == nil && s == gen.Score1Inf && zm.JSON200.Rank == 1
	}
	check("getZsetMember inf", err, ok, zm)

	// An integer past float32's exact range.
	ikey := prefix + "counter"
	incr, err := c.IncrStringWithResponse(ctx, db, ikey, nil, gen.IncrStringJSONRequestBody{By: 16777217})
	check("incrString past 2^24", err, err == nil && incr.JSON200 != nil && incr.JSON200.Value == 16777217, incr)

	// MGET with a null.
	mget, err := c.GetStringsWithResponse(ctx, db, &gen.GetStringsParams{Key: []string{ikey, prefix + "absent"}})
	check("getStrings with a null", err, err == nil && mget.JSON200 != nil && len(mget.JSON200.Values) == 2 && mget.JSON200.Values[0] != nil && *mget.JSON200.Values[0] == "16777217" && mget.JSON200.Values[1] == nil, mget)

	// /command returns any JSON value.
	for _, tc := range []struct {
		cmd  []string
		want any
	}{
		{[]string{"SET", prefix + "s", "text"}, true},
		{[]string{"GET", prefix + "s"}, "text"},
		{[]string{"INCRBY", prefix + "n", "5"}, float64(5)},
		{[]string{"ZRANGE", zkey, "0", "-1"}, []any{"fine", "top"}},
		{[]string{"HGETALL", hkey}, map[string]any{"name": "Ada", "lang": "en"}},
		{[]string{"GET", prefix + "absent"}, nil},
	} {
		r, err := c.RunCommandWithResponse(ctx, db, nil, gen.RunCommandJSONRequestBody{Command: tc.cmd})
		check(fmt.Sprintf("runCommand %s → %T", tc.cmd[0], tc.want), err, err == nil && r.JSON200 != nil && reflect.DeepEqual(r.JSON200.Result, tc.want), r)
	}

	// A pipeline mixing results and an error.
	pl, err := c.RunPipelineWithResponse(ctx, db, nil, gen.RunPipelineJSONRequestBody{Commands: [][]string{
		{"SET", prefix + "p", "1"}, {"INCR", prefix + "p"}, {"HGET", prefix + "p", "f"}, {"GET", prefix + "absent"},
	}})
	ok = false
	if err == nil && pl.JSON200 != nil && len(pl.JSON200.Results) == 4 {
		r := pl.JSON200.Results
		ok = r[0].Result == true && r[1].Result == float64(2) && r[2].Code != nil && *r[2].Code == "WRONGTYPE" && r[3].Result == nil && r[3].Error == nil
	}
	check("runPipeline", err, ok, pl)

	// A transaction.
	tx, err := c.RunTransactionWithResponse(ctx, db, nil, gen.RunTransactionJSONRequestBody{
		Watch:    &[]string{prefix + "bal"},
		Commands: [][]string{{"INCRBY", prefix + "bal", "10"}, {"GET", prefix + "bal"}},
	})
	check("runTransaction", err, err == nil && tx.JSON200 != nil && len(tx.JSON200.Results) == 2 && tx.JSON200.Results[1].Result == "10", tx)

	// A typed 404 and a validation 400.
	missing, err := c.GetStringWithResponse(ctx, db, prefix+"absent", nil)
	check("typed 404", err, err == nil && missing.ApplicationproblemJSON404 != nil && code(missing.ApplicationproblemJSON404.Code) == "NOT_FOUND", missing)
	bad, err := c.SetStringWithResponse(ctx, db, prefix+"bad", nil, gen.SetStringJSONRequestBody{Value: "x", TtlMs: ptr(int64(0))})
	ok = err == nil && bad.ApplicationproblemJSON400 != nil && code(bad.ApplicationproblemJSON400.Code) == "VALIDATION" &&
		bad.ApplicationproblemJSON400.Errors != nil && len(*bad.ApplicationproblemJSON400.Errors) > 0 && (*bad.ApplicationproblemJSON400.Errors)[0].Field == "ttl_ms"
	check("typed validation 400", err, ok, bad)
	wrong, err := c.GetHashWithResponse(ctx, db, ikey, nil)
	ok = false
	if err == nil && wrong.ApplicationproblemJSON409 != nil {
		rc, aerr := wrong.ApplicationproblemJSON409.Code.AsRedisErrorCode()
		ok = aerr == nil && rc == "WRONGTYPE"
	}
	check("typed 409 with a Redis code", err, ok, wrong)
	unknown, err := c.GetDBSizeWithResponse(ctx, "nope")
	check("typed 404 unknown database", err, err == nil && unknown.ApplicationproblemJSON404 != nil && code(unknown.ApplicationproblemJSON404.Code) == "UNKNOWN_DATABASE", unknown)

	if failures > 0 {
		fmt.Printf("%d check(s) failed\n", failures)
		os.Exit(1)
	}
	fmt.Println("all oapi-codegen checks passed")
}

// code reads a problem's code, a gateway code or a Redis one.
func code(c gen.Problem_Code) string {
	if g, err := c.AsGatewayCode(); err == nil && g.Valid() {
		return string(g)
	}
	r, _ := c.AsRedisErrorCode()
	return r
}
