// clickhouse-go v2 over HTTP against `dids warehouse`, with the options Grafana's ClickHouse plugin
// sets for an HTTP data source and otherwise the driver's defaults. Run by
// tests/integration/test_warehouse_clients.py as `gocheck HOST:PORT USER MODE` (the password in env
// DIDS_CHECK_PASSWORD); prints one `key=value` line per fact it read back.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func main() {
	addr, user, mode := os.Args[1], os.Args[2], os.Args[3]
	options := &clickhouse.Options{
		Addr:     []string{addr},
		Protocol: clickhouse.HTTP,
		Auth:     clickhouse.Auth{Database: "dids", Username: user, Password: os.Getenv("DIDS_CHECK_PASSWORD")},
	}
	if mode == "lz4" {
		options.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	}
	if mode == "zstd" {
		options.Compression = &clickhouse.Compression{Method: clickhouse.CompressionZSTD}
	}
	conn, err := clickhouse.Open(options)
	must(err)
	ctx := context.Background()
	must(conn.Ping(ctx))
	version, err := conn.ServerVersion()
	must(err)
	fmt.Printf("server=%s\n", version.Name)

	var sum, count uint64
	must(conn.QueryRow(ctx, "SELECT sum(number), count() FROM numbers(1000)").Scan(&sum, &count))
	fmt.Printf("query=%d/%d\n", sum, count)

	var day time.Time
	var missing, present *float64
	must(conn.QueryRow(ctx, "SELECT toDate('2024-02-29'), CAST(NULL AS Nullable(Float64)), CAST(2.5 AS Nullable(Float64))").
		Scan(&day, &missing, &present))
	fmt.Printf("select_date=%s\n", day.Format("2006-01-02"))
	fmt.Printf("select_nullable=%v/%v\n", missing == nil, *present)

	rows, err := conn.Query(ctx, "SELECT number * {k:UInt64} FROM numbers(3) ORDER BY number", clickhouse.Named("k", "7"))
	must(err)
	out := ""
	for rows.Next() {
		var v uint64
		must(rows.Scan(&v))
		out += fmt.Sprintf("%d,", v)
	}
	must(rows.Err())
	fmt.Printf("bound=%s\n", out)

	if err := conn.QueryRow(ctx, "SELECT count() FROM file('/etc/passwd')").Scan(&count); err != nil {
		fmt.Printf("refused=%s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	} else {
		fmt.Printf("refused=no\n")
	}

	if user == "default" {
		table := fmt.Sprintf("dids.go_check_%d", time.Now().UnixNano())
		must(conn.Exec(ctx, "CREATE TABLE "+table+" (id UInt32, day Date, v Nullable(Float64)) ENGINE = MergeTree ORDER BY id"))
		defer func() { must(conn.Exec(ctx, "DROP TABLE "+table)) }()
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+table)
		must(err)
		v := 1.5
		must(batch.Append(uint32(1), time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), &v))
		must(batch.Append(uint32(2), time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), nil))
		must(batch.Send())
		rows, err := conn.Query(ctx, "SELECT id, day, v FROM "+table+" ORDER BY id")
		must(err)
		for rows.Next() {
			var id uint32
			var d time.Time
			var v *float64
			must(rows.Scan(&id, &d, &v))
			if v == nil {
				fmt.Printf("row=%d|%s|null\n", id, d.Format("2006-01-02"))
			} else {
				fmt.Printf("row=%d|%s|%v\n", id, d.Format("2006-01-02"), *v)
			}
		}
		must(rows.Err())
	}
	fmt.Printf("done=%s\n", mode)
}

func must(err error) {
	if err != nil {
		fmt.Printf("error=%v\n", err)
		os.Exit(1)
	}
}
