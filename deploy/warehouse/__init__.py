"""`dids warehouse`: the ClickHouse engine in-process (chDB, data on disk) behind ClickHouse's HTTP
interface, so the sink, the CLI, notebooks and Grafana use it exactly as they would a server.

server.py (aiohttp app) -> params.py, auth.py, body.py, sql.py (the HTTP side) -> engine.py (chDB);
process.py starts and stops it as a subprocess for `dids up` and the tests.
"""
