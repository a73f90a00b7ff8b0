// The official ClickHouse JavaScript client (@clickhouse/client, Node.js) against `dids warehouse`, on its
// defaults. Run by tests/integration/test_warehouse_clients.py as `node check.mjs URL USER` (the password in
// env DIDS_CHECK_PASSWORD); prints one `key=value` line per fact it read back.
import { createClient } from '@clickhouse/client'

const [url, user] = process.argv.slice(2)
const client = createClient({ url, username: user, password: process.env.DIDS_CHECK_PASSWORD, database: 'dids' })
try {
  const ping = await client.ping()
  console.log(`ping=${ping.success}`)
  const rows = await (await client.query({ query: 'SELECT sum(number) AS s, count() AS c FROM numbers(1000)', format: 'JSONEachRow' })).json()
  console.log(`query=${rows[0].s}/${rows[0].c}`)
  const typed = await (await client.query({
    query: "SELECT toDate('2024-02-29') AS d, CAST(NULL AS Nullable(Float64)) AS n, CAST(2.5 AS Nullable(Float64)) AS v",
    format: 'JSONEachRow',
  })).json()
  console.log(`select_date=${typed[0].d}`)
  console.log(`select_nullable=${typed[0].n}/${typed[0].v}`)
  const bound = await (await client.query({
    query: 'SELECT number * {k:UInt64} AS x FROM numbers(3) ORDER BY number',
    query_params: { k: 7 },
    format: 'JSONCompactEachRow',
  })).json()
  console.log(`bound=${bound.map((r) => r[0]).join(',')},`)
  if (user === 'default') {
    const table = `dids.js_check_${Date.now()}`
    await client.command({ query: `CREATE TABLE ${table} (id UInt32, day Date, v Nullable(Float64)) ENGINE = MergeTree ORDER BY id` })
    try {
      await client.insert({ table, values: [{ id: 1, day: '2024-02-29', v: 1.5 }, { id: 2, day: '1999-12-31', v: null }], format: 'JSONEachRow' })
      const back = await (await client.query({ query: `SELECT id, day, v FROM ${table} ORDER BY id`, format: 'JSONEachRow' })).json()
      for (const r of back) console.log(`row=${r.id}|${r.day}|${r.v}`)
      const stream = await client.query({ query: 'SELECT number FROM numbers(200000)', format: 'CSV' })
      let lines = 0
      for await (const batch of stream.stream()) lines += batch.length
      console.log(`streamed=${lines}`)
    } finally {
      await client.command({ query: `DROP TABLE ${table}` })
    }
  }
  console.log(`done=${user}`)
} catch (err) {
  console.log(`error=${err.message}`)
  process.exitCode = 1
} finally {
  await client.close()
}
